// Package browsertest drives the Billing section in a real browser: it builds
// and starts the local server of infra/local on a free loopback port, starts
// headless Debian Chromium through chromedp with the flags this machine needs,
// and holds the checks the browser tests run inside a page (horizontal
// overflow, labels, keyboard tab stops).
//
// The tests are in this package's _test files. They need a `chromium` on PATH
// (or at /usr/bin/chromium); `make test` installs Debian's package when it is
// missing, and `go test` alone skips them without it. Screenshots are written
// to testartifacts/screenshots/ at the repository root.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// RepoRoot returns the directory of go.mod, searched upwards from the
// working directory (a test's package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildLocal builds the local server (./infra/local of the module at root)
// into dir and returns the binary's path. It runs the go command found on
// PATH, which `go test` puts first.
func BuildLocal(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "billing-local")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra/local")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./infra/local: %w\n%s", err, out)
	}
	return bin, nil
}

// Server is a running local server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL  string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan error
}

// serverEnv are the variables that would point the local server away from
// its embedded, sandboxed defaults; StartServer removes them.
var serverEnv = []string{
	"ADDR", "LOCAL_DYNAMODB_ADDR", "AWS_ENDPOINT_URL_DYNAMODB", "TABLE_NAME", "SESSION_KEY",
	"STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "EVENT_BUS_NAME",
	"USAGE_API_KEY", "TRIAL_CREDITS", "DEFAULT_OVERAGE_LIMIT", "EMAIL_FROM", "LOG_LEVEL",
}

var runningAt = regexp.MustCompile(`running at (http://[0-9.:]+)/billing`)

// StartServer starts the local server binary on 127.0.0.1:0 with the
// embedded DynamoDB, the sandbox payment provider and the seeded demo "acme",
// and waits for the URL it prints first. Its logs (stderr) are kept for Logs.
func StartServer(ctx context.Context, bin string) (*Server, error) {
	cmd := exec.Command(bin)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(serverEnv, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ADDR=127.0.0.1:0", "LOG_LEVEL=warn")
	s := &Server{cmd: cmd, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start local server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start local server: %w", err)
	}
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		close(first)
		_, _ = io.Copy(io.Discard, stdout) // keep the pipe drained
	}()
	go func() { s.done <- cmd.Wait() }()

	select {
	case line, ok := <-first:
		m := runningAt.FindStringSubmatch(line)
		if !ok || m == nil {
			_ = s.Stop()
			return nil, fmt.Errorf("local server printed %q first, not its URL; logs:\n%s", line, s.Logs())
		}
		s.URL = m[1]
		return s, nil
	case <-time.After(60 * time.Second):
	case <-ctx.Done():
	}
	_ = s.Stop()
	return nil, fmt.Errorf("local server printed no URL within 60 s; logs:\n%s", s.Logs())
}

// Stop asks the server to shut down (SIGINT, as Ctrl-C does), kills it if
// it has not stopped within 10 s, and returns how it ended.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("local server did not stop within 10 s of SIGINT; killed")
	}
}

// Logs returns what the server has logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// FindChromium returns the path of Chromium: `chromium` on PATH, else
// Debian's /usr/bin/chromium.
func FindChromium() (string, error) {
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", errors.New("no chromium on PATH or at /usr/bin/chromium (`make test` installs Debian's chromium package)")
}

// NewBrowser starts headless Chromium at execPath with the empty profile
// userDataDir and returns a context for chromedp.NewContext. Chromium runs
// without its sandbox (the tests run as root), without the GPU, and without
// the background connections that a closed network refuses. cancel stops
// the browser.
func NewBrowser(parent context.Context, execPath, userDataDir string) (context.Context, context.CancelFunc, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(userDataDir),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	// chromedp's own error log reports protocol events it cannot decode;
	// the actions return the errors that matter.
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	cancel := func() { cancelBrowser(); cancelAlloc() }
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		cancel()
		return nil, nil, fmt.Errorf("start chromium %s: %w", execPath, err)
	}
	return browserCtx, cancel, nil
}

// Overflow is the page's width against the viewport's.
type Overflow struct {
	ScrollWidth int `json:"scrollWidth"`
	InnerWidth  int `json:"innerWidth"`
	// Culprits names the innermost elements that reach past the viewport's
	// right edge, when the page scrolls sideways.
	Culprits []string `json:"culprits"`
}

// Scrolls reports whether the page scrolls horizontally (a pixel of
// rounding allowed).
func (o Overflow) Scrolls() bool { return o.ScrollWidth > o.InnerWidth+1 }

// MeasureOverflow measures document.documentElement.scrollWidth against
// window.innerWidth.
func MeasureOverflow() chromedp.Action[Overflow] {
	return chromedp.Evaluate[Overflow](describeJS + `(() => {
  const w = window.innerWidth;
  const out = {scrollWidth: document.documentElement.scrollWidth, innerWidth: w, culprits: []};
  if (out.scrollWidth <= w + 1) return out;
  // clipped: a scrolling or clipping box that el's position is relative
  // to holds it, so it cannot widen the page.
  const clipped = el => {
    let abs = /absolute|fixed/.test(getComputedStyle(el).position);
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (abs && cs.position === 'static') continue;
      if (cs.overflowX !== 'visible') return true;
      abs = /absolute|fixed/.test(cs.position);
    }
    return false;
  };
  const past = el => el.getBoundingClientRect().right > w + 1 && !clipped(el);
  for (const el of document.body.querySelectorAll('*')) {
    if (past(el) && ![...el.children].some(past) && out.culprits.length < 10) {
      out.culprits.push(__btDescribe(el) + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + ' px)');
    }
  }
  return out;
})()`)
}

// UnlabelledControls lists every input, select and textarea of the page
// (except type=hidden and type=submit) that has no accessible label: no
// <label for>, no wrapping <label>, no aria-label and no aria-labelledby
// naming an element with text.
func UnlabelledControls() chromedp.Action[[]string] {
	return chromedp.Evaluate[[]string](describeJS + `(() => {
  const has = s => (s || '').trim() !== '';
  const bad = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.tagName === 'INPUT' && ['hidden', 'submit'].includes(el.type)) continue;
    const labelled = [...(el.labels || [])].some(l => has(l.textContent)) ||
      has(el.getAttribute('aria-label')) ||
      (el.getAttribute('aria-labelledby') || '').split(/\s+/).some(id => id && has(document.getElementById(id)?.textContent));
    if (!labelled) bad.push(__btDescribe(el));
  }
  return bad;
})()`)
}

// Stop is one element of the page: a tab stop, or an element that should
// be one.
type Stop struct {
	// Index is the element's place among the page's focusable elements in
	// DOM order (TabOrder.Expected), or -1 when it is none of them.
	Index int    `json:"index"`
	Desc  string `json:"desc"`
	Tag   string `json:"tag"`
	Class string `json:"class"`
	Href  string `json:"href"`
	// Body is set when focus is on no element (it left the page).
	Body bool `json:"body"`
	// Scroller is set for a scrollable box, which Chromium makes a tab stop
	// when it holds nothing focusable.
	Scroller bool `json:"scroller"`
	// InSidebar is set for elements of the navigation sidebar.
	InSidebar bool `json:"inSidebar"`
}

// TabOrder is what pressing Tab from the top of a page visits.
type TabOrder struct {
	// Expected are the page's keyboard-focusable elements in DOM order:
	// links, buttons, enabled form controls, summaries and elements with a
	// tabindex ≥ 0, that are rendered.
	Expected []Stop
	// Stops are the focused elements after each press of Tab, until focus
	// leaves the page, returns to the first stop, or the presses run out.
	Stops []Stop
	// PositiveTabIndex lists elements with tabindex > 0, which reorder focus.
	PositiveTabIndex []string
}

// RecordTabOrder blurs the focused element, then presses Tab up to
// len(Expected)+extra times and records document.activeElement after each
// press. Run it on a freshly loaded page, so that focus navigation starts
// at the top.
func RecordTabOrder(extra int) chromedp.Action[TabOrder] {
	return func(ctx context.Context, t *chromedp.Target) (TabOrder, error) {
		var o TabOrder
		type setup struct {
			Expected []Stop   `json:"expected"`
			Positive []string `json:"positive"`
		}
		s, err := chromedp.Evaluate[setup](describeJS+`(() => {
  const sel = 'a[href], area[href], button, input, select, textarea, summary, iframe, [tabindex], [contenteditable]';
  const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const list = [...document.querySelectorAll(sel)].filter(el =>
    el.tabIndex >= 0 && !el.matches(':disabled') && !(el.tagName === 'INPUT' && el.type === 'hidden') &&
    !el.closest('[inert]') && shown(el) &&
    !(el.tagName === 'SUMMARY' && el.parentElement.tagName !== 'DETAILS'));
  window.__btFocusable = list;
  if (document.activeElement) document.activeElement.blur();
  return {
    expected: list.map(__btStop),
    positive: [...document.querySelectorAll('[tabindex]')].filter(el => el.tabIndex > 0).map(__btDescribe),
  };
})()`)(ctx, t)
		if err != nil {
			return o, fmt.Errorf("list focusable elements: %w", err)
		}
		o.Expected, o.PositiveTabIndex = s.Expected, s.Positive
		for range len(o.Expected) + extra {
			if _, err := chromedp.KeyEvent("\t")(ctx, t); err != nil {
				return o, fmt.Errorf("press Tab: %w", err)
			}
			stop, err := chromedp.Evaluate[Stop](describeJS+`__btStop(document.activeElement)`)(ctx, t)
			if err != nil {
				return o, fmt.Errorf("read the focused element: %w", err)
			}
			o.Stops = append(o.Stops, stop)
			if stop.Body || (len(o.Stops) > 1 && stop.Index == 0) {
				break
			}
		}
		return o, nil
	}
}

// describeJS defines the page-side helpers the checks share: a short,
// readable name of an element, and its Stop.
const describeJS = `
window.__btDescribe = window.__btDescribe || (el => {
  if (!el) return '(none)';
  let d = el.tagName.toLowerCase();
  if (el.id) d += '#' + el.id;
  else if (el.classList.length) d += '.' + [...el.classList].join('.');
  if (el.name) d += '[name=' + el.name + ']';
  if (el.type && el.tagName === 'INPUT') d += '[type=' + el.type + ']';
  const control = ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName);
  const text = (el.getAttribute('aria-label') || (control ? '' : el.innerText) || '').trim().replace(/\s+/g, ' ').slice(0, 50);
  if (text) d += ' "' + text + '"';
  if (el.getAttribute('href')) d += ' → ' + el.getAttribute('href');
  return d;
});
window.__btStop = window.__btStop || (el => {
  const body = !el || el === document.body || el === document.documentElement;
  const cs = el ? getComputedStyle(el) : null;
  return {
    index: (window.__btFocusable || []).indexOf(el),
    desc: body ? '(page)' : __btDescribe(el),
    tag: el ? el.tagName.toLowerCase() : '',
    class: el ? (el.getAttribute('class') || '') : '',
    href: el ? (el.getAttribute('href') || '') : '',
    body,
    scroller: !body && ((el.scrollWidth > el.clientWidth && /auto|scroll/.test(cs.overflowX)) ||
      (el.scrollHeight > el.clientHeight && /auto|scroll/.test(cs.overflowY))),
    inSidebar: !!(el && el.closest && el.closest('.sidebar')),
  };
});
`

// lockedBuffer is a bytes.Buffer safe for the process's writes and Logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
