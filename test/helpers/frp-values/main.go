// frp-values: what frp v0.70.1 itself makes of a config file. It does what
// `frpc verify` / `frps verify` do (frp's own loader: the Go template step over
// the process environment, TOML, strict decoding, defaults, then frp's
// validation) and prints the values that carry secrets as JSON, every string
// hex-encoded, so a test compares exact bytes.
//
//	frp-values [-env NAME=HEX]... frpc|frps FILE
//	frp-values [-env NAME=HEX]... -- PROGRAM ARG...
//
// -env sets an environment variable to the bytes given in hex (any bytes but
// NUL, which no environment can carry), then the tool re-executes itself (or,
// after --, runs PROGRAM, e.g. the real `frpc verify`) with exactly those
// variables. Built inside the frp module by scripts/build-frp-values.sh.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/fatedier/frp/pkg/config"
	"github.com/fatedier/frp/pkg/config/v1/validation"
	"github.com/fatedier/frp/pkg/policy/security"
)

func fail(format string, a ...any) {
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"error": fmt.Sprintf(format, a...)})
	os.Exit(1)
}

func h(s string) string { return hex.EncodeToString([]byte(s)) }

func main() {
	args := os.Args[1:]
	env := []string{}
	for len(args) >= 2 && args[0] == "-env" {
		name, value, ok := strings.Cut(args[1], "=")
		b, err := hex.DecodeString(value)
		if !ok || err != nil {
			fail("bad -env %q", args[1])
		}
		env = append(env, name+"="+string(b))
		args = args[2:]
	}
	if len(args) > 1 && args[0] == "--" {
		fail("exec %s: %v", args[1], syscall.Exec(args[1], args[1:], env))
	}
	if len(env) > 0 {
		self, err := os.Executable()
		if err != nil {
			fail("%v", err)
		}
		fail("exec: %v", syscall.Exec(self, append([]string{os.Args[0]}, args...), env))
	}
	if len(args) != 2 {
		fail("usage: frp-values [-env NAME=HEX]... frpc|frps FILE")
	}
	unsafe := security.NewUnsafeFeatures(nil)
	out := map[string]any{}
	switch args[0] {
	case "frpc":
		c, proxies, visitors, _, err := config.LoadClientConfig(args[1], true)
		if err != nil {
			fail("%v", err)
		}
		if _, err := validation.ValidateAllClientConfig(c, proxies, visitors, unsafe); err != nil {
			fail("%v", err)
		}
		out["user"] = h(c.User)
		out["auth.token"] = h(c.Auth.Token)
		out["auth.oidc.clientSecret"] = h(c.Auth.OIDC.ClientSecret)
		out["webServer.user"] = h(c.WebServer.User)
		out["webServer.password"] = h(c.WebServer.Password)
		groupKeys := map[string]string{}
		for _, p := range proxies {
			b := p.GetBaseConfig()
			groupKeys[b.Name] = h(b.LoadBalancer.GroupKey)
		}
		out["groupKeys"] = groupKeys
	case "frps":
		s, _, err := config.LoadServerConfig(args[1], true)
		if err != nil {
			fail("%v", err)
		}
		if _, err := validation.NewConfigValidator(unsafe).ValidateServerConfig(s); err != nil {
			fail("%v", err)
		}
		out["auth.token"] = h(s.Auth.Token)
		out["webServer.user"] = h(s.WebServer.User)
		out["webServer.password"] = h(s.WebServer.Password)
	default:
		fail("unknown program %q", args[0])
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
