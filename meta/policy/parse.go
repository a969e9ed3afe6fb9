package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RootCompartment is the name of every namespace's root compartment.
// "in compartment root" means the same as "in tenancy".
const RootCompartment = "root"

// maxNameLen bounds group, compartment and bucket names in statements.
const maxNameLen = 255

// Statement is one parsed "Allow ..." statement.
type Statement struct {
	// Text is the statement as written (without separators or comments).
	Text string
	// Line is the 1-based line of the document it starts on.
	Line int
	// Groups are the groups it allows (at least one).
	Groups   []string
	Verb     Verb
	Resource Resource
	// Tenancy is true for "in tenancy"; otherwise Compartment names the
	// compartment (which may be RootCompartment).
	Tenancy     bool
	Compartment string
	// Bucket, when HasBucket, is the condition
	// "where target.bucket.name = Bucket" ("!=" when BucketNot).
	HasBucket bool
	Bucket    string
	BucketNot bool
}

// ParseError is a syntax error at a 1-based line and column (counted in
// characters) of the policy document.
type ParseError struct {
	Line, Column int
	Msg          string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("policy: line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Parse parses a policy document: statements separated by newlines or ';'.
// Blank lines and comments (from '#' to the end of the line) are skipped.
// A document with no statement is an error.
func Parse(doc string) ([]Statement, error) {
	toks, err := lex(doc)
	if err != nil {
		return nil, err
	}
	p := &parser{doc: doc, toks: toks}
	var out []Statement
	for {
		p.skipSeparators()
		if p.peek().kind == tEOF {
			break
		}
		st, err := p.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		t := p.peek()
		return nil, &ParseError{Line: t.line, Column: t.col, Msg: "no statement: a policy needs at least one \"Allow ...\" statement"}
	}
	return out, nil
}

type tokenKind uint8

const (
	tEOF tokenKind = iota
	tWord
	tString
	tEq
	tNeq
	tComma
	tSep // newline or ';'
)

type token struct {
	kind       tokenKind
	text       string // word or unquoted string
	line, col  int
	start, end int // byte offsets in the document
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of policy"
	case tWord:
		return fmt.Sprintf("%q", t.text)
	case tString:
		return fmt.Sprintf("quoted name %q", t.text)
	case tEq:
		return `"="`
	case tNeq:
		return `"!="`
	case tComma:
		return `","`
	default:
		return "end of statement"
	}
}

func isWordByte(c rune) bool {
	return c != utf8.RuneError && (unicode.IsLetter(c) || unicode.IsDigit(c)) ||
		c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '*' || c == '@'
}

// lex splits doc into tokens, tracking lines and columns.
func lex(doc string) ([]token, error) {
	var toks []token
	line, col := 1, 1
	i := 0
	next := func() rune {
		r, n := utf8.DecodeRuneInString(doc[i:])
		i += n
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		return r
	}
	for i < len(doc) {
		r, _ := utf8.DecodeRuneInString(doc[i:])
		startLine, startCol, start := line, col, i
		switch {
		case r == utf8.RuneError:
			return nil, &ParseError{Line: line, Column: col, Msg: "the policy is not valid UTF-8"}
		case r == '\n' || r == ';':
			next()
			toks = append(toks, token{kind: tSep, line: startLine, col: startCol, start: start, end: i})
		case r == ' ' || r == '\t' || r == '\r':
			next()
		case r == '#':
			for i < len(doc) && doc[i] != '\n' {
				next()
			}
		case r == '=':
			next()
			toks = append(toks, token{kind: tEq, line: startLine, col: startCol, start: start, end: i})
		case r == '!':
			next()
			if i >= len(doc) || doc[i] != '=' {
				return nil, &ParseError{Line: startLine, Column: startCol, Msg: `unexpected "!": did you mean "!="?`}
			}
			next()
			toks = append(toks, token{kind: tNeq, line: startLine, col: startCol, start: start, end: i})
		case r == ',':
			next()
			toks = append(toks, token{kind: tComma, line: startLine, col: startCol, start: start, end: i})
		case r == '\'' || r == '"':
			quote := next()
			var b strings.Builder
			closed := false
			for i < len(doc) {
				c := next()
				if c == quote {
					closed = true
					break
				}
				if c == '\n' {
					break
				}
				b.WriteRune(c)
			}
			if !closed {
				return nil, &ParseError{Line: startLine, Column: startCol, Msg: fmt.Sprintf("unterminated quoted name (missing closing %c)", quote)}
			}
			toks = append(toks, token{kind: tString, text: b.String(), line: startLine, col: startCol, start: start, end: i})
		case isWordByte(r):
			for i < len(doc) {
				c, _ := utf8.DecodeRuneInString(doc[i:])
				if !isWordByte(c) {
					break
				}
				next()
			}
			toks = append(toks, token{kind: tWord, text: doc[start:i], line: startLine, col: startCol, start: start, end: i})
		default:
			return nil, &ParseError{Line: startLine, Column: startCol, Msg: fmt.Sprintf("unexpected character %q", r)}
		}
	}
	toks = append(toks, token{kind: tEOF, line: line, col: col, start: len(doc), end: len(doc)})
	return toks, nil
}

type parser struct {
	doc  string
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) take() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) skipSeparators() {
	for p.peek().kind == tSep {
		p.pos++
	}
}

func errAt(t token, format string, args ...any) *ParseError {
	return &ParseError{Line: t.line, Column: t.col, Msg: fmt.Sprintf(format, args...)}
}

// keyword consumes the case-insensitive word kw or fails with what.
func (p *parser) keyword(kw, what string) error {
	t := p.peek()
	if t.kind != tWord || !strings.EqualFold(t.text, kw) {
		return errAt(t, "expected %s, found %s", what, t.describe())
	}
	p.take()
	return nil
}

// name consumes a name: a bare word or a quoted string.
func (p *parser) name(what string) (string, error) {
	t := p.peek()
	if t.kind != tWord && t.kind != tString {
		return "", errAt(t, "expected %s, found %s", what, t.describe())
	}
	if t.text == "" {
		return "", errAt(t, "expected %s, found an empty name", what)
	}
	if len(t.text) > maxNameLen {
		return "", errAt(t, "%s is longer than %d bytes", what, maxNameLen)
	}
	p.take()
	return t.text, nil
}

func (p *parser) statement() (Statement, error) {
	first := p.peek()
	st := Statement{Line: first.line}
	if err := p.keyword("allow", `"Allow" to start a statement`); err != nil {
		return st, err
	}
	if err := p.keyword("group", `"group" (the only subject Cairn knows)`); err != nil {
		return st, err
	}
	for {
		g, err := p.name("a group name")
		if err != nil {
			return st, err
		}
		st.Groups = append(st.Groups, g)
		if p.peek().kind != tComma {
			break
		}
		p.take()
	}
	if err := p.keyword("to", `"to"`); err != nil {
		return st, err
	}
	t := p.peek()
	if t.kind != tWord {
		return st, errAt(t, "expected a verb (inspect, read, use or manage), found %s", t.describe())
	}
	switch strings.ToLower(t.text) {
	case "inspect":
		st.Verb = Inspect
	case "read":
		st.Verb = Read
	case "use":
		st.Verb = Use
	case "manage":
		st.Verb = Manage
	default:
		return st, errAt(t, "expected a verb (inspect, read, use or manage), found %s", t.describe())
	}
	p.take()
	t = p.peek()
	if t.kind != tWord {
		return st, errAt(t, "expected a resource type (buckets, objects, objectstorage-namespaces, object-family or all-resources), found %s", t.describe())
	}
	switch strings.ToLower(t.text) {
	case "buckets":
		st.Resource = Buckets
	case "objects":
		st.Resource = Objects
	case "object-family":
		st.Resource = ObjectFamily
	case "all-resources":
		st.Resource = AllResources
	case "objectstorage-namespaces":
		st.Resource = Namespaces
	default:
		return st, errAt(t, "expected a resource type (buckets, objects, objectstorage-namespaces, object-family or all-resources), found %s", t.describe())
	}
	p.take()
	if err := p.keyword("in", `"in"`); err != nil {
		return st, err
	}
	t = p.peek()
	switch {
	case t.kind == tWord && strings.EqualFold(t.text, "tenancy"):
		p.take()
		st.Tenancy = true
	case t.kind == tWord && strings.EqualFold(t.text, "compartment"):
		p.take()
		c, err := p.name("a compartment name")
		if err != nil {
			return st, err
		}
		st.Compartment = c
	default:
		return st, errAt(t, `expected "compartment <name>" or "tenancy", found %s`, t.describe())
	}
	if t := p.peek(); t.kind == tWord && strings.EqualFold(t.text, "where") {
		p.take()
		if err := p.condition(&st); err != nil {
			return st, err
		}
	}
	last := p.toks[p.pos-1]
	if t := p.peek(); t.kind != tSep && t.kind != tEOF {
		return st, errAt(t, "expected the end of the statement, found %s", t.describe())
	}
	st.Text = p.doc[first.start:last.end]
	return st, nil
}

func (p *parser) condition(st *Statement) error {
	t := p.peek()
	if t.kind != tWord || !strings.EqualFold(t.text, "target.bucket.name") {
		return errAt(t, "expected a condition on target.bucket.name (the only variable Cairn knows), found %s", t.describe())
	}
	p.take()
	switch op := p.take(); op.kind {
	case tEq:
	case tNeq:
		st.BucketNot = true
	default:
		return errAt(op, `expected "=" or "!=", found %s`, op.describe())
	}
	v := p.peek()
	if v.kind != tString {
		return errAt(v, "expected a quoted bucket name such as 'reports', found %s", v.describe())
	}
	p.take()
	st.HasBucket, st.Bucket = true, v.text
	return nil
}
