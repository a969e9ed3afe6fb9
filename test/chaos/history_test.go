package chaos

import (
	"strings"
	"testing"
	"time"
)

// TestCheckerCatchesViolations: the checker accepts linearizable histories
// (ambiguous writes included) and reports lost writes, stale reads, reads
// of values never written and LISTs that contradict the keys' history.
func TestCheckerCatchesViolations(t *testing.T) {
	keys := []string{"a", "b"}
	put := func(c int, k, v string, call, ret int64) Op {
		return Op{Client: c, Kind: Put, Key: k, Value: v, Call: call, Return: ret}
	}
	get := func(c int, k, v string, call, ret int64) Op {
		return Op{Client: c, Kind: Get, Key: k, Value: v, Found: v != "", Call: call, Return: ret}
	}
	ambiguous := func(o Op) Op { o.Outcome = Ambiguous; o.Err = "timeout"; return o }
	list := func(c int, m map[string]string, call, ret int64) Op {
		return Op{Client: c, Kind: List, Listed: m, Call: call, Return: ret}
	}
	cases := []struct {
		name string
		ops  []Op
		bad  string // substring of a violation; "" for none
	}{
		{"sequential", []Op{put(0, "a", "v1", 0, 10), get(1, "a", "v1", 11, 20), {Client: 0, Kind: Delete, Key: "a", Call: 21, Return: 30}, get(1, "a", "", 31, 40)}, ""},
		{"concurrent put and get", []Op{put(0, "a", "v1", 0, 10), get(1, "a", "", 5, 6), get(1, "a", "v1", 7, 8)}, ""},
		{"ambiguous write seen late", []Op{ambiguous(put(0, "a", "v1", 0, 10)), get(1, "a", "", 20, 30), get(1, "a", "v1", 40, 50)}, ""},
		{"ambiguous write never seen", []Op{ambiguous(put(0, "a", "v1", 0, 10)), get(1, "a", "", 20, 30)}, ""},
		{"lost acknowledged write", []Op{put(0, "a", "v1", 0, 10), get(1, "a", "", 20, 30)}, "not linearizable"},
		{"stale read", []Op{put(0, "a", "v1", 0, 10), put(0, "a", "v2", 11, 20), get(1, "a", "v1", 30, 40)}, "not linearizable"},
		{"read flips back", []Op{put(0, "a", "v1", 0, 10), put(1, "a", "v2", 0, 10), get(2, "a", "v1", 20, 21), get(2, "a", "v2", 22, 23), get(2, "a", "v1", 24, 25)}, "not linearizable"},
		{"value never written", []Op{put(0, "a", "v1", 0, 10), get(1, "a", "v9", 20, 30)}, "never written"},
		{"list agrees", []Op{put(0, "a", "v1", 0, 10), put(0, "b", "w1", 11, 20), list(1, map[string]string{"a": "v1", "b": "w1"}, 21, 30)}, ""},
		{"list misses an acknowledged write", []Op{put(0, "a", "v1", 0, 10), list(1, map[string]string{}, 21, 30)}, "not linearizable"},
		{"list shows a value never written", []Op{list(1, map[string]string{"b": "zz"}, 21, 30)}, "never written"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(tc.ops, keys, 10*time.Second)
			got := strings.Join(res.Violations, "; ")
			switch {
			case tc.bad == "" && got != "":
				t.Fatalf("violations in a valid history: %s", got)
			case tc.bad != "" && !strings.Contains(got, tc.bad):
				t.Fatalf("violations %q, want one mentioning %q", got, tc.bad)
			}
			if tc.bad == "not linearizable" && len(Explain(tc.ops, keys, 5, 10*time.Second)) == 0 {
				t.Fatal("Explain found nothing to show")
			}
		})
	}
}
