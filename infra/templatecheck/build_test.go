package templatecheck_test

import (
	"bytes"
	"debug/elf"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// lambdaBuild is what make build and every build-<LogicalId> target run:
// a static arm64 Linux binary without the RPC mode, without local paths,
// stripped.
const lambdaBuild = "GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' "

// makeDryRun returns the commands make would run for target (make -n).
func makeDryRun(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not on PATH; sam build and make build need GNU make")
	}
	cmd := exec.Command("make", append([]string{"-n", "--no-print-directory", "GO=go"}, args...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestSamBuild(t *testing.T) {
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^build-(\w+):`).FindAllSubmatch(makefile, -1) {
		targets[string(m[1])] = true
	}
	fns := functions(t, load(t).CFN)

	t.Run("the Makefile has a build-<LogicalId> target for every function of the template, and no other", func(t *testing.T) {
		var want []string
		for _, fn := range fns {
			want = append(want, fn.ID)
		}
		slices.Sort(want)
		if got := slices.Sorted(maps.Keys(targets)); !slices.Equal(got, want) {
			t.Errorf("Makefile has build-%v, template.yaml deploys %v", got, want)
		}
	})

	t.Run("each target builds its own functions/<name> into ARTIFACTS_DIR with make build's flags", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range slices.Sorted(maps.Keys(fns)) {
			got := strings.TrimSpace(makeDryRun(t, "build-"+fns[name].ID, "ARTIFACTS_DIR="+dir))
			want := lambdaBuild + `-o "` + dir + `/bootstrap" ./functions/` + name
			if got != want {
				t.Errorf("make build-%s runs\n\t%s\nwant\n\t%s", fns[name].ID, got, want)
			}
		}
		if all := makeDryRun(t, "build"); !strings.Contains(all, lambdaBuild) {
			t.Errorf("make build does not run %q:\n%s", lambdaBuild, all)
		}
	})

	t.Run("a target run as sam build runs it leaves a static linux/arm64 bootstrap", func(t *testing.T) {
		dir := t.TempDir()
		const target = "build-UsageFunction"
		cmd := exec.Command("make", "--no-print-directory", target)
		cmd.Dir = root
		// sam build sets ARTIFACTS_DIR in the environment, not as an argument.
		cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out.String())
		}
		f, err := elf.Open(filepath.Join(dir, "bootstrap"))
		if err != nil {
			t.Fatalf("make %s left no ELF bootstrap: %v", target, err)
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
			t.Errorf("bootstrap is %v %v %v, want EM_AARCH64 ELFCLASS64 for Linux", f.Machine, f.Class, f.OSABI)
		}
		if f.Type != elf.ET_EXEC {
			t.Errorf("bootstrap is %v, want a static executable (ET_EXEC)", f.Type)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("bootstrap has a %v program header: it is dynamically linked (CGO_ENABLED=0 missing?)", p.Type)
			}
		}
		if f.Section(".dynamic") != nil || f.Section(".interp") != nil {
			t.Error("bootstrap has a .dynamic or .interp section: it is dynamically linked")
		}
		if f.Section(".symtab") != nil {
			t.Error("bootstrap has a symbol table: -ldflags='-s -w' missing")
		}
	})
}

func TestSamConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// A [section] holds key = value lines; a flat view is enough here.
	settings := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		case line != "" && !strings.HasPrefix(line, "#"):
			k, v, _ := strings.Cut(line, "=")
			settings[section+"."+strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}

	t.Run("sam deploy --guided needs nothing but the answers it asks for", func(t *testing.T) {
		for key, want := range map[string]string{
			"default.global.parameters.stack_name":        "billing",
			"default.deploy.parameters.capabilities":      "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND",
			"default.deploy.parameters.resolve_s3":        "true",
			"default.deploy.parameters.confirm_changeset": "true",
			"default.local_invoke.parameters.env_vars":    "infra/env.json",
			"default.local_start_api.parameters.env_vars": "infra/env.json",
		} {
			if got := settings[key]; got != want {
				t.Errorf("samconfig.toml %s = %q, want %q", key, got, want)
			}
		}
	})

	t.Run("CAPABILITY_IAM suffices: no IAM resource of the transformed template has a name", func(t *testing.T) {
		for id, res := range obj(load(t).CFN["Resources"]) {
			typ := str(obj(res)["Type"])
			if !strings.HasPrefix(typ, "AWS::IAM::") {
				continue
			}
			for _, name := range []string{"RoleName", "UserName", "GroupName", "ManagedPolicyName", "InstanceProfileName"} {
				if _, ok := obj(obj(res)["Properties"])[name]; ok {
					t.Errorf("%s (%s) has %s, which needs CAPABILITY_NAMED_IAM in samconfig.toml", id, typ, name)
				}
			}
		}
	})
}
