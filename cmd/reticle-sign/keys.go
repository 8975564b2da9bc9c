package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/reticle-mesh/reticle/pkg/integrity"
)

// PEM block types of cosign's password-encrypted private keys (scrypt + NaCl secretbox over PKCS #8).
const (
	sigstoreEncryptedType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignEncryptedType   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// loadPrivateKey reads a plain or cosign-encrypted ECDSA P-256 PEM key.
func loadPrivateKey(keyPEM, password []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block", integrity.ErrPrivateKey)
	}
	if blk.Type != sigstoreEncryptedType && blk.Type != cosignEncryptedType {
		return integrity.ParsePrivateKeyPEM(keyPEM)
	}
	der, err := encrypted.Decrypt(blk.Bytes, password)
	if err != nil {
		return nil, fmt.Errorf("%w: decrypt (check COSIGN_PASSWORD): %w", integrity.ErrPrivateKey, err)
	}
	return integrity.ParsePKCS8PrivateKey(der)
}

// generateKey makes an ECDSA P-256 key pair: the private key PEM (cosign-encrypted with password unless
// plain) and the public key PEM.
func generateKey(plain bool, password []byte) (privPEM, pubPEM []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encode key: %w", err)
	}
	blk := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	if !plain {
		enc, err := encrypted.Encrypt(der, password)
		if err != nil {
			return nil, nil, fmt.Errorf("encrypt key: %w", err)
		}
		blk = &pem.Block{Type: sigstoreEncryptedType, Bytes: enc}
	}
	pubPEM, err = integrity.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(blk), pubPEM, nil
}
