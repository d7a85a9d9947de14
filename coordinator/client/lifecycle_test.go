package client

import "testing"

func TestVerifyWebhook(t *testing.T) {
	// From: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'secret-0123456789'
	const sig = "sha256=692511b180bbcd561410894fd2bedac27a99690e45169490ea808f433b5d0097"
	body := []byte(`{"a":1}`)
	for _, tc := range []struct {
		name, secret, ts string
		body             []byte
		sig              string
		ok               bool
	}{
		{"valid", "secret-0123456789", "1700000000", body, sig, true},
		{"other secret", "secret-0123456780", "1700000000", body, sig, false},
		{"other timestamp", "secret-0123456789", "1700000001", body, sig, false},
		{"other body", "secret-0123456789", "1700000000", []byte(`{"a":2}`), sig, false},
		{"no prefix", "secret-0123456789", "1700000000", body, sig[len("sha256="):], false},
		{"not hex", "secret-0123456789", "1700000000", body, "sha256=zz", false},
		{"no timestamp", "secret-0123456789", "", body, sig, false},
		{"empty", "secret-0123456789", "1700000000", body, "", false},
	} {
		if err := VerifyWebhook(tc.secret, tc.ts, tc.body, tc.sig); (err == nil) != tc.ok {
			t.Errorf("%s: VerifyWebhook = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
