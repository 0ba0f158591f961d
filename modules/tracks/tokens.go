package tracks

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// newShareToken returns a random link token and the hash it is stored as.
func newShareToken() (string, []byte) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
