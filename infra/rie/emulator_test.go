//go:build linux

package rie_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acme/billing/shared/logtest"
)

// root is the module's root, relative to this package.
const root = "../.."

// rieModule is what the tests install when aws-lambda-rie is missing.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest"

var (
	rieOnce sync.Once
	riePath string
	rieErr  error
)

// emulatorBinary returns the path of aws-lambda-rie: on PATH, in GOBIN or
// GOPATH/bin, or installed there now with go install. It fails the test
// saying why when none of that works.
func emulatorBinary(tb testing.TB) string {
	tb.Helper()
	rieOnce.Do(func() { riePath, rieErr = findOrInstallEmulator() })
	if rieErr != nil {
		tb.Fatalf("aws-lambda-rie is needed and could not be installed: %v", rieErr)
	}
	return riePath
}

func findOrInstallEmulator() (string, error) {
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	goBin, err := goTool()
	if err != nil {
		return "", err
	}
	bin := goEnv(goBin, "GOBIN")
	if bin == "" {
		bin = filepath.Join(strings.SplitN(goEnv(goBin, "GOPATH"), string(os.PathListSeparator), 2)[0], "bin")
	}
	p := filepath.Join(bin, "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "install", rieModule)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", rieModule, err, out)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("go install %s succeeded but %s is missing: %v", rieModule, p, err)
	}
	return p, nil
}

func goTool() (string, error) {
	p, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH: %v", err)
	}
	return p, nil
}

func goEnv(goBin, name string) string {
	out, err := exec.Command(goBin, "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// buildBootstrap builds the package at pkg (relative to the module root)
// into dir/bootstrap as a Lambda function for the host: CGO off, the
// lambda.norpc tag, trimmed and stripped as by `make build`.
func buildBootstrap(tb testing.TB, pkg, dir string) string {
	tb.Helper()
	goBin, err := goTool()
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command(goBin, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// emulator is one aws-lambda-rie process running a bootstrap.
type emulator struct {
	// URL is the invoke endpoint.
	URL string
	// Started is when the emulator process was started, Listening when its
	// invoke port first accepted a connection. The function's runtime is
	// started by the first invocation.
	Started, Listening time.Time

	cmd  *exec.Cmd
	logs *logtest.Buffer
	done chan struct{}
}

// startEmulator starts aws-lambda-rie on a free loopback port with the
// bootstrap as its runtime, and env (plus PATH) as the function's
// environment. The emulator sets AWS_LAMBDA_RUNTIME_API for the runtime
// itself (its Runtime API, here also on a free loopback port).
func startEmulator(tb testing.TB, bootstrap string, env map[string]string) *emulator {
	tb.Helper()
	rie := emulatorBinary(tb)
	var lastErr error
	for range 3 { // a free port may be taken between choosing and binding
		invokeAddr, runtimeAddr := freeAddr(tb), freeAddr(tb)
		cmd := exec.Command(rie,
			"--runtime-interface-emulator-address", invokeAddr,
			"--runtime-api-address", runtimeAddr,
			"--log-level", "warn",
			bootstrap)
		cmd.Dir = filepath.Dir(bootstrap)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range env {
			if k == "AWS_LAMBDA_RUNTIME_API" {
				continue // the emulator's to set
			}
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		// Its own process group, so stopping it stops the runtime it
		// started too.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		e := &emulator{URL: "http://" + invokeAddr + "/2015-03-31/functions/function/invocations", cmd: cmd, logs: &logtest.Buffer{}, done: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = e.logs, e.logs
		e.Started = time.Now()
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start %s: %v", rie, err)
		}
		go func() { _ = cmd.Wait(); close(e.done) }()
		if err := e.waitListening(10 * time.Second); err != nil {
			e.Stop()
			lastErr = fmt.Errorf("%v\n%s", err, e.Logs())
			continue
		}
		e.Listening = time.Now()
		tb.Cleanup(e.Stop)
		return e
	}
	tb.Fatalf("aws-lambda-rie did not start: %v", lastErr)
	return nil
}

// waitListening waits until the invoke port accepts connections, or the
// emulator exits.
func (e *emulator) waitListening(timeout time.Duration) error {
	addr := strings.TrimPrefix(strings.SplitN(e.URL, "/2015", 2)[0], "http://")
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			return errors.New("aws-lambda-rie exited")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(500 * time.Microsecond)
	}
	return fmt.Errorf("aws-lambda-rie not listening on %s after %v", addr, timeout)
}

// Invoke sends one event to the function and returns what it answered.
func (e *emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: %s: %s", resp.Status, body)
	}
	return body, nil
}

// Stop stops the emulator and the runtime it started.
func (e *emulator) Stop() {
	select {
	case <-e.done:
		return
	default:
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
	}
}

// Logs returns what the emulator and the function wrote so far.
func (e *emulator) Logs() string { return e.logs.String() }

// WaitLogs waits until ok holds for the logs, at most timeout.
func (e *emulator) WaitLogs(timeout time.Duration, ok func(logs string) bool) bool {
	for deadline := time.Now().Add(timeout); ; time.Sleep(10 * time.Millisecond) {
		if ok(e.Logs()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
