package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"sync"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

// bridge holds the command table and per-process state.
type bridge struct {
	commands map[string]handler
	tmpDir   string

	wmu   sync.Mutex
	nodes map[string]*wireNode // wire_* nodes by handle
	beh   map[string]*behNode  // behavioral_* transports by handle
}

func newBridge() *bridge {
	b := &bridge{nodes: map[string]*wireNode{}, beh: map[string]*behNode{}}
	b.commands = map[string]handler{
		"x25519_generate":            cmdX25519Generate,
		"x25519_public_from_private": cmdX25519Public,
		"x25519_exchange":            cmdX25519Exchange,
		"ed25519_generate":           cmdEd25519Generate,
		"ed25519_sign":               cmdEd25519Sign,
		"ed25519_verify":             cmdEd25519Verify,
		"sha256":                     cmdSHA256,
		"sha512":                     cmdSHA512,
		"hmac_sha256":                cmdHMAC,
		"hkdf":                       cmdHKDF,
		"pkcs7_pad":                  cmdPad,
		"pkcs7_unpad":                cmdUnpad,
		"aes_encrypt":                cmdAESEncrypt,
		"aes_decrypt":                cmdAESDecrypt,
		"aes_256_cbc_encrypt":        cmdAESRaw(true),
		"aes_256_cbc_decrypt":        cmdAESRaw(false),
		"token_encrypt":              cmdTokenEncrypt,
		"token_decrypt":              cmdTokenDecrypt,
		"token_verify_hmac":          cmdTokenVerify,
		"token_generate_key":         cmdTokenGenerateKey,
		"crypto_provider_op":         cmdProviderOp,
	}
	b.addIdentityCommands()
	b.addPacketCommands()
	b.addWireCommands()
	b.addBehavioralCommands()
	return b
}

func cmdX25519Generate(p params) (map[string]any, error) {
	seed, err := p.hex("seed")
	if err != nil {
		return nil, err
	}
	k, err := ecdh.X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, err
	}
	return map[string]any{"private_key": hx(k.Bytes()), "public_key": hx(k.PublicKey().Bytes())}, nil
}

func cmdX25519Public(p params) (map[string]any, error) {
	prv, err := p.hex("private_key")
	if err != nil {
		return nil, err
	}
	k, err := ecdh.X25519().NewPrivateKey(prv)
	if err != nil {
		return nil, err
	}
	return map[string]any{"public_key": hx(k.PublicKey().Bytes())}, nil
}

func cmdX25519Exchange(p params) (map[string]any, error) {
	prv, err := p.hex("private_key")
	if err != nil {
		return nil, err
	}
	pub, err := p.hex("peer_public_key")
	if err != nil {
		return nil, err
	}
	k, err := ecdh.X25519().NewPrivateKey(prv)
	if err != nil {
		return nil, err
	}
	peer, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	shared, err := k.ECDH(peer)
	if err != nil {
		return nil, err
	}
	return map[string]any{"shared_secret": hx(shared)}, nil
}

// edKey accepts a 32-byte seed or a 64-byte seed || public key, as the
// reference's SigningKey does; the public half is re-derived from the seed.
func edKey(seed []byte) (ed25519.PrivateKey, error) {
	if len(seed) == ed25519.PrivateKeySize {
		seed = seed[:ed25519.SeedSize]
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 seed of %d bytes", len(seed))
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func cmdEd25519Generate(p params) (map[string]any, error) {
	seed, err := p.hex("seed")
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("ed25519 seed of %d bytes", len(seed))
	}
	k, err := edKey(seed)
	if err != nil {
		return nil, err
	}
	return map[string]any{"private_key": hx(seed), "public_key": hx(k.Public().(ed25519.PublicKey))}, nil
}

func cmdEd25519Sign(p params) (map[string]any, error) {
	seed, err := p.hex("private_key")
	if err != nil {
		return nil, err
	}
	msg, err := p.hex("message")
	if err != nil {
		return nil, err
	}
	k, err := edKey(seed)
	if err != nil {
		return nil, err
	}
	return map[string]any{"signature": hx(ed25519.Sign(k, msg))}, nil
}

func cmdEd25519Verify(p params) (map[string]any, error) {
	pub, err := p.hex("public_key")
	if err != nil {
		return nil, err
	}
	msg, err := p.hex("message")
	if err != nil {
		return nil, err
	}
	sig, err := p.hex("signature")
	if err != nil {
		return nil, err
	}
	ok := len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
	return map[string]any{"valid": ok}, nil
}

func cmdSHA256(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	h := wire.SHA256(d)
	return map[string]any{"hash": hx(h[:])}, nil
}

func cmdSHA512(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	h := sha512.Sum512(d)
	return map[string]any{"hash": hx(h[:])}, nil
}

func cmdHMAC(p params) (map[string]any, error) {
	key, err := p.hex("key")
	if err != nil {
		return nil, err
	}
	msg, err := p.hex("message")
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return map[string]any{"hmac": hx(m.Sum(nil))}, nil
}

func cmdHKDF(p params) (map[string]any, error) {
	ikm, err := p.hex("ikm")
	if err != nil {
		return nil, err
	}
	salt, err := p.optHex("salt")
	if err != nil {
		return nil, err
	}
	info, err := p.optHex("info")
	if err != nil {
		return nil, err
	}
	out, err := identity.HKDF(p.int("length", 0), ikm, salt, info)
	if err != nil {
		return nil, err
	}
	return map[string]any{"derived_key": hx(out)}, nil
}

func cmdPad(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	return map[string]any{"padded": hx(identity.PadPKCS7(d))}, nil
}

func cmdUnpad(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	out, err := identity.UnpadPKCS7(d)
	if err != nil {
		return nil, err
	}
	return map[string]any{"unpadded": hx(out)}, nil
}

func aesParams(p params, in string) (data, key, iv []byte, err error) {
	if data, err = p.hex(in); err != nil {
		return
	}
	if key, err = p.hex("key"); err != nil {
		return
	}
	iv, err = p.hex("iv")
	return
}

func cbc(encrypt bool, key, iv, data []byte, wantKey int) ([]byte, error) {
	if len(key) != wantKey {
		return nil, fmt.Errorf("invalid key length %d", len(key)*8)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize || len(data)%aes.BlockSize != 0 {
		return nil, errors.New("iv or data not a whole number of blocks")
	}
	out := make([]byte, len(data))
	if encrypt {
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(out, data)
	} else {
		cipher.NewCBCDecrypter(blk, iv).CryptBlocks(out, data)
	}
	return out, nil
}

func aesKeyLen(p params) int {
	if p.str("mode") == "AES_128_CBC" {
		return 16
	}
	return 32
}

func cmdAESEncrypt(p params) (map[string]any, error) {
	pt, key, iv, err := aesParams(p, "plaintext")
	if err != nil {
		return nil, err
	}
	ct, err := cbc(true, key, iv, identity.PadPKCS7(pt), aesKeyLen(p))
	if err != nil {
		return nil, err
	}
	return map[string]any{"ciphertext": hx(ct)}, nil
}

func cmdAESDecrypt(p params) (map[string]any, error) {
	ct, key, iv, err := aesParams(p, "ciphertext")
	if err != nil {
		return nil, err
	}
	pt, err := cbc(false, key, iv, ct, aesKeyLen(p))
	if err != nil {
		return nil, err
	}
	out, err := identity.UnpadPKCS7(pt)
	if err != nil {
		return nil, err
	}
	return map[string]any{"plaintext": hx(out)}, nil
}

func cmdAESRaw(encrypt bool) handler {
	return func(p params) (map[string]any, error) {
		in, out := "plaintext", "ciphertext"
		if !encrypt {
			in, out = out, in
		}
		data, key, iv, err := aesParams(p, in)
		if err != nil {
			return nil, err
		}
		res, err := cbc(encrypt, key, iv, data, 32)
		if err != nil {
			return nil, err
		}
		return map[string]any{out: hx(res)}, nil
	}
}

func token(p params) (*identity.Token, error) {
	key, err := p.hex("key")
	if err != nil {
		return nil, err
	}
	return identity.NewToken(key)
}

func cmdTokenEncrypt(p params) (map[string]any, error) {
	t, err := token(p)
	if err != nil {
		return nil, err
	}
	pt, err := p.hex("plaintext")
	if err != nil {
		return nil, err
	}
	ct, err := t.Encrypt(pt)
	if err != nil {
		return nil, err
	}
	return map[string]any{"token": hx(ct)}, nil
}

func cmdTokenDecrypt(p params) (map[string]any, error) {
	t, err := token(p)
	if err != nil {
		return nil, err
	}
	ct, err := p.hex("token")
	if err != nil {
		return nil, err
	}
	pt, err := t.Decrypt(ct)
	if err != nil {
		return nil, err
	}
	return map[string]any{"plaintext": hx(pt)}, nil
}

func cmdTokenVerify(p params) (map[string]any, error) {
	t, err := token(p)
	if err != nil {
		return nil, err
	}
	ct, err := p.hex("token")
	if err != nil {
		return nil, err
	}
	ok, err := t.VerifyHMAC(ct)
	if err != nil {
		return nil, err
	}
	return map[string]any{"valid": ok}, nil
}

func cmdTokenGenerateKey(p params) (map[string]any, error) {
	switch mode := p.str("mode"); mode {
	case "", "AES_256_CBC":
		k, err := identity.GenerateGroupKey()
		if err != nil {
			return nil, err
		}
		return map[string]any{"key": hx(k)}, nil
	case "AES_128_CBC":
		k := make([]byte, identity.TokenKeyLenAES128)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		return map[string]any{"key": hx(k)}, nil
	default:
		return nil, fmt.Errorf("Invalid token mode: %s", mode)
	}
}

// cmdProviderOp runs a primitive "through a named provider". The reference
// has two crypto backends; Reticle has one (the Go standard library), so both
// provider names give the same, strict, answer.
func cmdProviderOp(p params) (map[string]any, error) {
	if pv := p.str("provider"); pv != "internal" && pv != "pyca" {
		return nil, fmt.Errorf("Unknown provider: %s", pv)
	}
	var (
		res map[string]any
		err error
	)
	switch op := p.str("op"); op {
	case "x25519_exchange":
		if res, err = cmdX25519Exchange(p); err == nil {
			return map[string]any{"result": res["shared_secret"]}, nil
		}
	case "ed25519_sign":
		if res, err = cmdEd25519Sign(p); err == nil {
			return map[string]any{"result": res["signature"]}, nil
		}
	case "ed25519_verify":
		return cmdEd25519Verify(p)
	case "aes_256_cbc_encrypt":
		if res, err = cmdAESRaw(true)(p); err == nil {
			return map[string]any{"result": res["ciphertext"]}, nil
		}
	default:
		return nil, fmt.Errorf("Unknown op: %s", op)
	}
	return nil, err
}
