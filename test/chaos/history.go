package chaos

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Kind is what an operation does.
type Kind int

// The operations clients run.
const (
	Put Kind = iota
	Get
	Delete
	List
)

func (k Kind) String() string {
	return [...]string{"put", "get", "delete", "list"}[k]
}

// Outcome is how an operation ended.
type Outcome int

// Outcomes.
const (
	// OK: the operation was acknowledged (a GET of a missing key is OK with
	// Found false).
	OK Outcome = iota
	// Ambiguous: a write failed in a way that leaves open whether it took
	// effect (timeout, 5xx, connection cut after sending).
	Ambiguous
	// Failed: the operation certainly had no effect (a write refused
	// before it reached the gateway) or told nothing (any failed read).
	Failed
)

// Op is one recorded client operation.
type Op struct {
	Client int
	Kind   Kind
	Key    string // empty for List
	// Value is the MD5 (hex) of the body a Put wrote or a Get read.
	Value string
	Found bool // Get: the key existed
	// Listed maps each key a List returned to its ETag.
	Listed  map[string]string
	Outcome Outcome
	Err     string
	Call    int64 // nanoseconds since the history began
	Return  int64
}

func (o Op) String() string {
	switch o.Kind {
	case Put:
		return fmt.Sprintf("client %d put(%s, %.8s) %s [%d..%d]", o.Client, o.Key, o.Value, o.outcomeString(), o.Call, o.Return)
	case Get:
		v := "<none>"
		if o.Found {
			v = o.Value[:min(8, len(o.Value))]
		}
		return fmt.Sprintf("client %d get(%s) -> %s %s [%d..%d]", o.Client, o.Key, v, o.outcomeString(), o.Call, o.Return)
	case Delete:
		return fmt.Sprintf("client %d delete(%s) %s [%d..%d]", o.Client, o.Key, o.outcomeString(), o.Call, o.Return)
	default:
		var keys []string
		for k, v := range o.Listed {
			keys = append(keys, fmt.Sprintf("%s=%.8s", k, v))
		}
		sort.Strings(keys)
		return fmt.Sprintf("client %d list -> {%s} %s [%d..%d]", o.Client, strings.Join(keys, " "), o.outcomeString(), o.Call, o.Return)
	}
}

func (o Op) outcomeString() string {
	switch o.Outcome {
	case OK:
		return "ok"
	case Ambiguous:
		return "ambiguous(" + o.Err + ")"
	default:
		return "failed(" + o.Err + ")"
	}
}

// History records operations from concurrent clients.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []Op
}

// NewHistory starts an empty history; its clock starts now.
func NewHistory() *History { return &History{start: time.Now()} }

// Now returns the history's clock: monotonic nanoseconds since it began.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records a finished operation.
func (h *History) Add(op Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
}

// Ops returns a copy of the recorded operations.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// Counts summarizes the history: operations by kind and outcome.
func (h *History) Counts() string {
	counts := map[string]int{}
	for _, o := range h.Ops() {
		counts[o.Kind.String()+"/"+[...]string{"ok", "ambiguous", "failed"}[o.Outcome]]++
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// registerInput and registerOutput are the porcupine view of one
// single-key operation: a write (put or delete) or a read.
type registerInput struct {
	write bool
	value string // "" means absent (delete, or a read that found nothing)
}

type registerOutput struct {
	value string // reads only
}

// registerModel is a register per key holding the MD5 of the current body,
// or "" when the key is absent.
func registerModel() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[string][]porcupine.Operation{}
			var keys []string
			for _, op := range history {
				k := op.Metadata.(string)
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			sort.Strings(keys)
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			in := input.(registerInput)
			if in.write {
				return true, in.value
			}
			return output.(registerOutput).value == state.(string), state
		},
		DescribeOperation: func(input, output any) string {
			in := input.(registerInput)
			switch {
			case in.write && in.value == "":
				return "delete"
			case in.write:
				return "put " + short(in.value)
			}
			v := output.(registerOutput).value
			if v == "" {
				return "read -> absent"
			}
			return "read -> " + short(v)
		},
		DescribeState: func(state any) string {
			if state.(string) == "" {
				return "absent"
			}
			return short(state.(string))
		},
		DescribeOperationMetadata: func(info any) string { return "key " + info.(string) },
	}
}

func short(v string) string { return v[:min(8, len(v))] }

// toPorcupine turns the history into single-key register operations:
// a List becomes one read per key of keys (absent when not listed).
// Ambiguous writes get a return time after everything else; failed
// operations are left out.
func toPorcupine(ops []Op, keys []string) []porcupine.Operation {
	var end int64
	for _, o := range ops {
		end = max(end, o.Return)
	}
	open := end + int64(time.Hour)
	if open < 0 {
		open = math.MaxInt64
	}
	var out []porcupine.Operation
	add := func(o Op, key string, in registerInput, outp registerOutput) {
		ret := o.Return
		if o.Outcome == Ambiguous {
			ret = open
		}
		out = append(out, porcupine.Operation{ClientId: o.Client, Input: in, Output: outp, Call: o.Call, Return: ret, Metadata: key})
	}
	for _, o := range ops {
		if o.Outcome == Failed || (o.Outcome == Ambiguous && (o.Kind == Get || o.Kind == List)) {
			continue
		}
		switch o.Kind {
		case Put:
			add(o, o.Key, registerInput{write: true, value: o.Value}, registerOutput{})
		case Delete:
			add(o, o.Key, registerInput{write: true}, registerOutput{})
		case Get:
			v := ""
			if o.Found {
				v = o.Value
			}
			add(o, o.Key, registerInput{}, registerOutput{value: v})
		case List:
			for _, k := range keys {
				add(o, k, registerInput{}, registerOutput{value: o.Listed[k]})
			}
		}
	}
	return out
}

// Result is what Check found.
type Result struct {
	// Violations lists reads of values never written, and keys whose
	// history is not linearizable.
	Violations []string
	// Unknown is true when the linearizability check timed out without
	// finding a violation.
	Unknown bool
	// Info is porcupine's linearization info, for Visualize.
	Info porcupine.LinearizationInfo
}

// Check verifies the history over keys (see the package comment).
func Check(ops []Op, keys []string, timeout time.Duration) Result {
	var res Result
	written := map[string]map[string]bool{} // key -> values ever put (even ambiguously)
	for _, o := range ops {
		if o.Kind == Put && o.Outcome != Failed {
			if written[o.Key] == nil {
				written[o.Key] = map[string]bool{}
			}
			written[o.Key][o.Value] = true
		}
	}
	for _, o := range ops {
		if o.Outcome != OK {
			continue
		}
		switch {
		case o.Kind == Get && o.Found && !written[o.Key][o.Value]:
			res.Violations = append(res.Violations, fmt.Sprintf("read a value never written: %v", o))
		case o.Kind == List:
			for k, v := range o.Listed {
				if !written[k][v] {
					res.Violations = append(res.Violations, fmt.Sprintf("listed a value never written (%s=%s): %v", k, short(v), o))
				}
			}
		}
	}
	model := registerModel()
	r, info := porcupine.CheckOperationsVerbose(model, toPorcupine(ops, keys), timeout)
	res.Info = info
	switch r {
	case porcupine.Illegal:
		res.Violations = append(res.Violations, "the single-key history is not linearizable (see the visualization)")
	case porcupine.Unknown:
		res.Unknown = true
	}
	return res
}

// Explain finds, for each key whose history does not linearize, the
// shortest prefix of its operations (in invocation order, LISTs reduced to
// that key) that already fails, and returns its last n operations: the
// last one is where no order of the operations explains what was seen.
func Explain(ops []Op, keys []string, n int, timeout time.Duration) []string {
	var out []string
	for _, k := range keys {
		var mine []Op
		for _, o := range ops {
			switch {
			case o.Kind == List:
				p := o
				p.Listed = map[string]string{}
				if v, ok := o.Listed[k]; ok {
					p.Listed[k] = v
				}
				mine = append(mine, p)
			case o.Key == k:
				mine = append(mine, o)
			}
		}
		sort.SliceStable(mine, func(i, j int) bool { return mine[i].Call < mine[j].Call })
		fails := func(m int) bool { return len(Check(mine[:m], []string{k}, timeout).Violations) > 0 }
		if !fails(len(mine)) {
			continue
		}
		lo, hi := 1, len(mine)
		for lo < hi {
			mid := (lo + hi) / 2
			if fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		out = append(out, fmt.Sprintf("key %s: the first %d of its %d operations already fail; the last %d of them:", k, lo, len(mine), min(n, lo)))
		for _, o := range mine[max(0, lo-n):lo] {
			if o.Kind == List {
				v := o.Listed[k]
				if v == "" {
					v = "<none>"
				}
				out = append(out, fmt.Sprintf("  client %d list -> %s=%s %s [%d..%d]", o.Client, k, short(v), o.outcomeString(), o.Call, o.Return))
				continue
			}
			out = append(out, "  "+o.String())
		}
	}
	return out
}

// Visualize writes porcupine's HTML view of the checked history to path.
func (r Result) Visualize(path string) error {
	return porcupine.VisualizePath(registerModel(), r.Info, path)
}
