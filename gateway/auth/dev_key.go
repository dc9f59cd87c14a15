package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// devKeyBits is the RSA modulus size of generated dev keys and the minimum
// accepted when loading one.
const devKeyBits = 2048

const pemTypePKCS8 = "PRIVATE KEY"

// loadOrCreateKey returns the RSA key stored at path, generating and
// persisting a new one when the file does not exist yet.
func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	key, err := readKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	return createKey(path)
}

// createKey writes a fresh key to path. Two processes may race here (e.g.
// `serve --dev` and `dev-token` started together), so the key is written to
// a private temp file and then hard-linked into place. Unlike rename, link
// fails when the target exists: the first process wins, every other process
// discards its own key and adopts the winner's, and nobody ever sees a
// partially written file.
func createKey(path string) (*rsa.PrivateKey, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create dev key directory: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, devKeyBits)
	if err != nil {
		return nil, fmt.Errorf("auth: generate dev key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("auth: encode dev key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemTypePKCS8, Bytes: der})

	// os.CreateTemp creates the file with mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("auth: create dev key temp file: %w", err)
	}
	// After a successful link the key stays reachable via path; removing
	// the temp name only drops the extra link.
	defer os.Remove(tmp.Name())
	if err := writeAndClose(tmp, data); err != nil {
		return nil, fmt.Errorf("auth: write dev key temp file: %w", err)
	}

	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKey(path)
		}
		return nil, fmt.Errorf("auth: install dev key %s: %w", path, err)
	}
	return key, nil
}

func writeAndClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		// Flush before the file becomes visible under its final name, so a
		// crash cannot leave an empty key file that blocks regeneration.
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return err
}

// readKey loads a PEM-encoded PKCS#8 RSA private key. A missing file yields
// an error wrapping fs.ErrNotExist.
func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read dev key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemTypePKCS8 {
		return nil, fmt.Errorf("auth: dev key %s: no %q PEM block", path, pemTypePKCS8)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: dev key %s: parse PKCS#8: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: dev key %s: want RSA key, got %T", path, parsed)
	}
	if bits := key.N.BitLen(); bits < devKeyBits {
		return nil, fmt.Errorf("auth: dev key %s: RSA key has %d bits, need at least %d", path, bits, devKeyBits)
	}
	return key, nil
}
