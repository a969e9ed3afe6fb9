package main

import (
	"encoding/json"
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
	// A literal may be a prefix the code appends suffixes to (a leader job
	// runner's series): the documented names it begins count as its.
	for name, path := range inSource {
		if documented[name] > 0 {
			continue
		}
		prefixed := 0
		for doc := range documented {
			if strings.HasPrefix(doc, name+"_") {
				inSource[doc] = path
				prefixed++
			}
		}
		if prefixed == 0 {
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

// TestDashboardUsesDocumentedMetrics: the Grafana dashboard
// (deploy/grafana/cairn.json) parses, and every series its queries read
// is one docs/metrics.md lists (a histogram's _bucket, _sum and _count
// count as its own), so a renamed metric cannot leave a panel empty.
func TestDashboardUsesDocumentedMetrics(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(cairn_[a-z0-9_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "cairn.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Type    string
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/cairn.json: %v", err)
	}
	queries := 0
	series := regexp.MustCompile(`cairn_[a-z0-9_]+`)
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			for _, name := range series.FindAllString(q.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if trimmed, ok := strings.CutSuffix(name, suffix); ok && documented[trimmed] {
						base = trimmed
					}
				}
				if !documented[base] {
					t.Errorf("panel %q reads %s, which docs/metrics.md does not list", p.Title, name)
				}
			}
		}
	}
	if queries < 20 {
		t.Fatalf("the dashboard has only %d queries", queries)
	}
}
