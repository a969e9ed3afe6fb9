package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMetricsDocumented: docs/metrics.md lists exactly the cairn_* metric
// names that Cairn's non-test source holds (every registration names its
// metric as a literal), each once.
func TestMetricsDocumented(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(cairn_[a-z0-9_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]]++
	}
	literal := regexp.MustCompile(`"(cairn_[a-z0-9_]+)"`)
	inSource := map[string]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "test" || strings.HasPrefix(d.Name(), ".") || d.Name() == "bin") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			inSource[m[1]] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inSource) < 60 {
		t.Fatalf("found only %d metric names in the source; is the walk right?", len(inSource))
	}
	for name, path := range inSource {
		if documented[name] == 0 {
			t.Errorf("%s (%s) is not in docs/metrics.md", name, path)
		}
	}
	var names []string
	for name, n := range documented {
		names = append(names, name)
		if _, ok := inSource[name]; !ok {
			t.Errorf("docs/metrics.md lists %s, which no source registers", name)
		}
		if n > 1 {
			t.Errorf("docs/metrics.md lists %s %d times", name, n)
		}
	}
	slices.Sort(names)
	t.Logf("%d metrics documented", len(names))
}
