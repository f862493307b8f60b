package main

import (
	"errors"
	"fmt"
	"strings"
)

// cronOf returns the cron spec of a declarative Jenkinsfile's
// `triggers { cron('...') }`, or "" when it declares no cron trigger. The
// Jenkinsfile stays the one source of truth for when a lifecycle job runs;
// register-jobs copies the spec into the job's own configuration because
// Jenkins applies a Jenkinsfile's triggers only after the job's first run.
//
// It reads Groovy just far enough for that: comments and strings are
// skipped, so a "triggers {" in either does not count. The spec must be a
// string literal (single, double or triple quoted, without ${...}); other
// triggers (pollSCM, upstream) are ignored.
func cronOf(src string) (string, error) {
	toks, err := lex(src)
	if err != nil {
		return "", err
	}
	var specs []string
	blocks := 0
	for i := 0; i+1 < len(toks); i++ {
		if !toks[i].is(tokIdent, "triggers") || !toks[i+1].is(tokPunct, "{") {
			continue
		}
		blocks++
		if blocks > 1 {
			return "", fmt.Errorf("line %d: a second triggers { } block", toks[i].line)
		}
		depth := 0
		j := i + 1
		for ; j < len(toks); j++ {
			t := toks[j]
			switch {
			case t.is(tokPunct, "{"):
				depth++
			case t.is(tokPunct, "}"):
				depth--
			case depth == 1 && t.is(tokIdent, "cron") && j+1 < len(toks):
				// cron('spec'), cron(spec: 'spec') or Groovy's cron 'spec'.
				var spec string
				var next int
				var err error
				if toks[j+1].is(tokPunct, "(") {
					spec, next, err = cronArg(toks, j+2, true)
				} else {
					spec, next, err = cronArg(toks, j+1, false)
				}
				if err != nil {
					return "", fmt.Errorf("line %d: cron(...): %w", t.line, err)
				}
				specs = append(specs, spec)
				j = next
			}
			if depth == 0 {
				break
			}
		}
		if depth != 0 {
			return "", fmt.Errorf("line %d: triggers { } block is not closed", toks[i].line)
		}
		i = j
	}
	switch len(specs) {
	case 0:
		return "", nil
	case 1:
		if err := checkCron(specs[0]); err != nil {
			return "", err
		}
		return specs[0], nil
	}
	return "", errors.New("more than one cron trigger (put several lines in one cron('...') instead)")
}

// cronArg reads `'spec'` or `spec: 'spec'`, followed by `)` when paren,
// from toks[i:] and returns the spec and the index of its last token.
func cronArg(toks []token, i int, paren bool) (string, int, error) {
	if i+1 < len(toks) && toks[i].is(tokIdent, "spec") && toks[i+1].is(tokPunct, ":") {
		i += 2
	}
	if i >= len(toks) || toks[i].kind != tokString {
		return "", 0, errors.New("the spec is not a string literal")
	}
	if toks[i].interpolated {
		return "", 0, errors.New("the spec uses ${...}, which only Jenkins can resolve")
	}
	if !paren {
		return toks[i].text, i, nil
	}
	if i+1 >= len(toks) || !toks[i+1].is(tokPunct, ")") {
		return "", 0, errors.New("expected ) after the spec")
	}
	return toks[i].text, i + 1, nil
}

// cronAliases are the @ forms Jenkins accepts instead of five fields.
var cronAliases = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true, "@daily": true, "@midnight": true, "@hourly": true}

// checkCron checks the shape of a Jenkins cron spec: each line is empty, a
// # comment, an @alias, or five fields.
func checkCron(spec string) error {
	lines := 0
	for _, line := range strings.Split(spec, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		f := strings.Fields(line)
		if len(f) == 1 && cronAliases[f[0]] {
			continue
		}
		if len(f) != 5 {
			return fmt.Errorf("cron spec %q: %q has %d fields, Jenkins wants 5 (minute hour day-of-month month day-of-week)", spec, line, len(f))
		}
	}
	if lines == 0 {
		return fmt.Errorf("cron spec %q is empty", spec)
	}
	return nil
}

type tokKind int

const (
	tokIdent tokKind = iota + 1
	tokString
	tokPunct
)

type token struct {
	kind         tokKind
	text         string // identifier, punctuation, or the string's value
	interpolated bool   // a GString with ${...} or $name
	line         int
}

func (t token) is(kind tokKind, text string) bool { return t.kind == kind && t.text == text }

// lex splits Groovy source into identifiers, string literals and single
// punctuation characters, dropping blanks, comments and everything else
// (numbers, operators are kept as punctuation).
func lex(src string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: comment is not closed", line)
			}
			line += strings.Count(src[i:i+2+end+2], "\n")
			i += 2 + end + 2
		case c == '\'' || c == '"':
			t, n, err := lexString(src[i:], line)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			line += strings.Count(src[i:i+n], "\n")
			i += n
		case c == '_' || c == '$' || isLetter(c):
			j := i + 1
			for j < len(src) && (src[j] == '_' || src[j] == '$' || isLetter(src[j]) || isDigit(src[j])) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: src[i:j], line: line})
			i = j
		default:
			toks = append(toks, token{kind: tokPunct, text: string(c), line: line})
			i++
		}
	}
	return toks, nil
}

// lexString reads the string literal at the start of s and returns it with
// the number of bytes it spans.
func lexString(s string, line int) (token, int, error) {
	q := s[:1]
	if strings.HasPrefix(s, q+q+q) {
		q = q + q + q
	}
	t := token{kind: tokString, line: line}
	var b strings.Builder
	for i := len(q); i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], q):
			t.text = b.String()
			return t, i + len(q), nil
		case s[i] == '\n' && len(q) == 1:
			return token{}, 0, fmt.Errorf("line %d: string is not closed on its line", line)
		case s[i] == '\\' && i+1 < len(s):
			b.WriteString(unescape(s[i+1]))
			i += 2
		default:
			if s[i] == '$' && q[0] == '"' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '_' || isLetter(s[i+1])) {
				t.interpolated = true
			}
			b.WriteByte(s[i])
			i++
		}
	}
	return token{}, 0, fmt.Errorf("line %d: string is not closed", line)
}

func unescape(c byte) string {
	switch c {
	case 'n':
		return "\n"
	case 't':
		return "\t"
	case 'r':
		return "\r"
	case '\n':
		return "" // line continuation
	}
	return string(c)
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
