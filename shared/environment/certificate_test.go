package environment

import (
	"strings"
	"testing"
)

func TestCertificates(t *testing.T) {
	const cert = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	env := func(extra string) string {
		return `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"}` + extra + `}`
	}
	tests := []struct {
		name, body, want string // want "": valid
	}{
		{"none", env(``), ""},
		{"public", env(`,"public_certificate_arn":"` + cert + `"`), ""},
		{"jenkins with url", env(`,"jenkins":{"certificate_arn":"` + cert + `","url":"https://jenkins.example.com"}`), ""},
		{"jenkins not configured", env(`,"jenkins":{"certificate_arn":"` + cert + `","configure":false}`), ""},
		{"public not an arn", env(`,"public_certificate_arn":"my-cert"`), `"public_certificate_arn"`},
		{"public iam certificate", env(`,"public_certificate_arn":"arn:aws:iam::123456789012:server-certificate/web"`), `"public_certificate_arn"`},
		{"public other account", env(`,"public_certificate_arn":"arn:aws:acm:eu-west-1:999999999999:certificate/abc"`), `"public_certificate_arn": arn:aws:acm:eu-west-1:999999999999:certificate/abc is in account 999999999999`},
		{"public other region", env(`,"public_certificate_arn":"arn:aws:acm:us-east-1:123456789012:certificate/abc"`), `region us-east-1`},
		{"jenkins other region", env(`,"jenkins":{"certificate_arn":"arn:aws:acm:us-east-1:123456789012:certificate/abc","configure":false}`), `"jenkins.certificate_arn"`},
		{"jenkins http url", env(`,"jenkins":{"certificate_arn":"` + cert + `","url":"http://jenkins.example.com"}`), `"jenkins.url"`},
		{"jenkins no url", env(`,"jenkins":{"certificate_arn":"` + cert + `"}`), `"jenkins.url": missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error mentioning %s", err, tt.want)
			case tt.want == "" && tt.name == "public" && e.PublicCertificateARN != cert:
				t.Fatalf("public_certificate_arn not read: %q", e.PublicCertificateARN)
			}
		})
	}
}
