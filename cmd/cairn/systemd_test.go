package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdUnits: each unit in deploy/systemd, with its example
// environment file, runs a command line the real flag parser accepts, and
// refers to no variable the example leaves undefined.
func TestSystemdUnits(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "systemd")
	for _, role := range []string{"meta", "data", "gateway"} {
		unit := readUnit(t, filepath.Join(dir, "cairn-"+role+".service"))
		if got, want := unit["EnvironmentFile"], "/etc/cairn/"+role+".env"; got != want {
			t.Errorf("%s: EnvironmentFile %q, want %q", role, got, want)
		}
		if unit["User"] != "cairn" || unit["Restart"] == "" {
			t.Errorf("%s: want User=cairn and a Restart policy", role)
		}
		env := readEnvFile(t, filepath.Join(dir, role+".env.example"))
		args := execStart(t, role, unit["ExecStart"], env)
		if len(args) < 2 || args[0] != "/usr/local/bin/cairn" || args[1] != role {
			t.Fatalf("%s: ExecStart runs %q, want /usr/local/bin/cairn %s", role, args, role)
		}
		if err := checkFlags(context.Background(), args[1:]); err != nil {
			t.Errorf("%s: cairn refuses the unit's command line %q: %v", role, args[1:], err)
		}
	}
}

// readUnit returns a unit file's settings (the last of each name), with
// continuation lines joined.
func readUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not name=value", path, line)
		}
		out[k] = v
	}
	return out
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", path, line)
		}
		env[k] = v
	}
	return env
}

// execStart splits ExecStart as systemd does for these units: ${VAR} is
// one word, $VAR splits on white space (and vanishes when empty), %H is
// the host name.
func execStart(t *testing.T, role, line string, env map[string]string) []string {
	t.Helper()
	ref := regexp.MustCompile(`^\$\{([A-Z0-9_]+)\}|^\$([A-Z0-9_]+)$`)
	var out []string
	for _, word := range strings.Fields(line) {
		word = strings.ReplaceAll(word, "%H", "m1")
		if m := ref.FindStringSubmatch(word); m != nil && m[2] != "" {
			v, ok := env[m[2]]
			if !ok {
				t.Errorf("%s: ExecStart uses $%s, which the example does not set", role, m[2])
			}
			out = append(out, strings.Fields(v)...)
			continue
		}
		word = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).ReplaceAllStringFunc(word, func(s string) string {
			name := s[2 : len(s)-1]
			v, ok := env[name]
			if !ok {
				t.Errorf("%s: ExecStart uses ${%s}, which the example does not set", role, name)
			}
			return v
		})
		out = append(out, word)
	}
	return out
}
