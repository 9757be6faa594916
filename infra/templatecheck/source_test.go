package templatecheck_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// parseGo parses one Go file of the module (path relative to its root).
func parseGo(t *testing.T, path string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, path), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return f
}

// parseGoDir parses the non-test Go files of a directory of the module.
func parseGoDir(t *testing.T, dir string) map[string]*ast.File {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ast.File{}
	for _, m := range matches {
		if strings.HasSuffix(m, "_test.go") {
			continue
		}
		rel, _ := filepath.Rel(root, m)
		out[rel] = parseGo(t, rel)
	}
	return out
}

// stringLit returns the value of a string literal expression.
func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// depsByFunction returns, for each function named in the composite
// literals of the files (the Route{Function: ...} entries of
// shared/web/routes.go, the Job{Function: ...} entries of shared/jobs), the
// web.Deps fields its entries use: every d.<Field> inside the literal.
func depsByFunction(t *testing.T, files ...string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, path := range files {
		ast.Inspect(parseGo(t, path), func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			name := ""
			for _, el := range lit.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Function" {
						name, _ = stringLit(kv.Value)
					}
				}
			}
			if name == "" {
				return true
			}
			if out[name] == nil {
				out[name] = map[string]bool{}
			}
			ast.Inspect(lit, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "d" {
						out[name][sel.Sel.Name] = true
					}
				}
				return true
			})
			return false
		})
	}
	return out
}
