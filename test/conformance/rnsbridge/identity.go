package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reticle-mesh/reticle/pkg/rns/identity"
	"github.com/reticle-mesh/reticle/pkg/rns/wire"
)

func (b *bridge) addIdentityCommands() {
	for k, v := range map[string]handler{
		"identity_from_private_key":   cmdIdentityFromPrivate,
		"identity_encrypt":            cmdIdentityEncrypt,
		"identity_decrypt":            cmdIdentityDecrypt,
		"identity_sign":               cmdIdentitySign,
		"identity_verify":             cmdIdentityVerify,
		"identity_hash":               cmdIdentityHash,
		"identity_to_file":            b.cmdIdentityToFile,
		"identity_from_file":          cmdIdentityFromFile,
		"identity_random_hash":        cmdRandomHash,
		"destination_hash":            cmdDestinationHash,
		"hash_from_name_and_identity": cmdHashFromName,
		"destination_expand_name":     cmdExpandName,
		"truncated_hash":              cmdTruncatedHash,
		"name_hash":                   cmdNameHash,
		"ratchet_id":                  cmdRatchetID,
		"ratchet_public_from_private": cmdRatchetPublic,
		"ratchet_encrypt":             cmdRatchetEncrypt,
		"ratchet_decrypt":             cmdRatchetDecrypt,
		"announce_build":              cmdAnnounceBuild,
		"announce_validate":           cmdAnnounceValidate,
		"identity_keyless_op":         cmdKeylessOp,
	} {
		b.commands[k] = v
	}
}

func privateIdentity(p params) (*identity.Identity, error) {
	prv, err := p.hex("private_key")
	if err != nil {
		return nil, err
	}
	return identity.FromPrivateKey(prv)
}

func publicIdentity(p params) (*identity.Identity, error) {
	pub, err := p.hex("public_key")
	if err != nil {
		return nil, err
	}
	return identity.FromPublicKey(pub)
}

func describe(id *identity.Identity) map[string]any {
	return map[string]any{"public_key": hx(id.PublicKey()), "hash": id.Hash().String(), "hexhash": id.Hash().String()}
}

func cmdIdentityFromPrivate(p params) (map[string]any, error) {
	id, err := privateIdentity(p)
	if err != nil {
		return nil, err
	}
	return describe(id), nil
}

func cmdIdentityEncrypt(p params) (map[string]any, error) {
	id, err := publicIdentity(p)
	if err != nil {
		return nil, err
	}
	pt, err := p.hex("plaintext")
	if err != nil {
		return nil, err
	}
	ct, err := id.Encrypt(pt, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ciphertext": hx(ct)}, nil
}

func cmdIdentityDecrypt(p params) (map[string]any, error) {
	id, err := privateIdentity(p)
	if err != nil {
		return nil, err
	}
	ct, err := p.hex("ciphertext")
	if err != nil {
		return nil, err
	}
	pt, err := id.Decrypt(ct)
	if err != nil {
		return map[string]any{"plaintext": nil}, nil
	}
	return map[string]any{"plaintext": hx(pt)}, nil
}

func cmdIdentitySign(p params) (map[string]any, error) {
	id, err := privateIdentity(p)
	if err != nil {
		return nil, err
	}
	msg, err := p.hex("message")
	if err != nil {
		return nil, err
	}
	sig, err := id.Sign(msg)
	if err != nil {
		return nil, err
	}
	return map[string]any{"signature": hx(sig)}, nil
}

func cmdIdentityVerify(p params) (map[string]any, error) {
	id, err := publicIdentity(p)
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
	return map[string]any{"valid": id.Verify(sig, msg)}, nil
}

func cmdIdentityHash(p params) (map[string]any, error) {
	id, err := publicIdentity(p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"hash": id.Hash().String()}, nil
}

func (b *bridge) cmdIdentityToFile(p params) (map[string]any, error) {
	id, err := privateIdentity(p)
	if err != nil {
		return nil, err
	}
	if b.tmpDir == "" {
		if b.tmpDir, err = os.MkdirTemp("", "rnsbridge-"); err != nil {
			return nil, err
		}
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	path := filepath.Join(b.tmpDir, "identity-"+hx(r[:]))
	if err := id.Save(path); err != nil {
		return nil, err
	}
	return map[string]any{"path": path}, nil
}

func cmdIdentityFromFile(p params) (map[string]any, error) {
	id, err := identity.Load(p.str("path"))
	if err != nil {
		return map[string]any{"found": false}, nil
	}
	res := describe(id)
	res["found"] = true
	return res, nil
}

func cmdRandomHash(params) (map[string]any, error) {
	var r [wire.TruncatedHashLen]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, err
	}
	h := identity.TruncatedHash(r[:])
	return map[string]any{"random_hash": h.String()}, nil
}

func cmdDestinationHash(p params) (map[string]any, error) {
	idb, err := p.hex("identity_hash")
	if err != nil {
		return nil, err
	}
	idh, err := wire.HashFromBytes(idb)
	if err != nil {
		return nil, err
	}
	nh, err := identity.NameHash(p.str("app_name"), p.list("aspects")...)
	if err != nil {
		return nil, err
	}
	return map[string]any{"destination_hash": wire.DestinationHash(nh, &idh).String()}, nil
}

func cmdHashFromName(p params) (map[string]any, error) {
	name := p.str("full_name")
	if name == "" {
		name = p.str("name")
	}
	parts := splitDot(name)
	nh, err := identity.NameHash(parts[0], parts[1:]...)
	if err != nil {
		return nil, err
	}
	var idh *wire.Hash
	if p.has("identity_hash") {
		b, err := p.hex("identity_hash")
		if err != nil {
			return nil, err
		}
		h, err := wire.HashFromBytes(b)
		if err != nil {
			return nil, err
		}
		idh = &h
	} else if p.has("public_key") {
		id, err := publicIdentity(p)
		if err != nil {
			return nil, err
		}
		h := id.Hash()
		idh = &h
	}
	return map[string]any{"destination_hash": wire.DestinationHash(nh, idh).String()}, nil
}

func splitDot(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func cmdExpandName(p params) (map[string]any, error) {
	name, err := identity.ExpandName(p.str("app_name"), p.list("aspects")...)
	if err != nil {
		return nil, err
	}
	return map[string]any{"name": name}, nil
}

func cmdTruncatedHash(p params) (map[string]any, error) {
	d, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	full := identity.FullHash(d)
	return map[string]any{"hash": identity.TruncatedHash(d).String(), "full_hash": full.String()}, nil
}

func cmdNameHash(p params) (map[string]any, error) {
	return map[string]any{"hash": identity.NameHashOf(p.str("name")).String()}, nil
}

func cmdRatchetID(p params) (map[string]any, error) {
	pub, err := p.hex("ratchet_public")
	if err != nil {
		return nil, err
	}
	id := identity.RatchetID(pub)
	return map[string]any{"ratchet_id": hx(id[:])}, nil
}

func cmdRatchetPublic(p params) (map[string]any, error) {
	prv, err := p.hex("ratchet_private")
	if err != nil {
		return nil, err
	}
	r, err := identity.RatchetFromBytes(prv)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ratchet_public": hx(r.PublicKey())}, nil
}

func cmdRatchetEncrypt(p params) (map[string]any, error) {
	id, err := publicIdentity(p)
	if err != nil {
		return nil, err
	}
	rp, err := p.hex("ratchet_public")
	if err != nil {
		return nil, err
	}
	pt, err := p.hex("plaintext")
	if err != nil {
		return nil, err
	}
	ct, err := id.Encrypt(pt, rp)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ciphertext": hx(ct)}, nil
}

func cmdRatchetDecrypt(p params) (map[string]any, error) {
	id, err := privateIdentity(p)
	if err != nil {
		return nil, err
	}
	ct, err := p.hex("ciphertext")
	if err != nil {
		return nil, err
	}
	var keys []string
	if p.has("ratchet_privates") {
		keys = p.list("ratchet_privates")
	} else if p.has("ratchet_private") {
		keys = []string{p.str("ratchet_private")}
	}
	var ratchets []*identity.Ratchet
	for i, k := range keys {
		b, err := params{"k": k}.hex("k")
		if err != nil {
			return nil, fmt.Errorf("ratchet %d: %w", i, err)
		}
		r, err := identity.RatchetFromBytes(b)
		if err != nil {
			// The reference skips a ratchet it cannot use.
			ratchets = append(ratchets, nil)
			continue
		}
		ratchets = append(ratchets, r)
	}
	pt, idx, err := id.DecryptRatchets(ct, ratchets, p.bool("enforce_ratchets"))
	if err != nil {
		return map[string]any{"plaintext": nil, "latest_ratchet_id": nil}, nil
	}
	res := map[string]any{"plaintext": hx(pt), "latest_ratchet_id": nil}
	if idx >= 0 {
		rid := ratchets[idx].ID()
		res["latest_ratchet_id"] = hx(rid[:])
	}
	return res, nil
}

func cmdAnnounceBuild(p params) (map[string]any, error) {
	id, err := privateIdentity(p)
	if err != nil {
		return nil, err
	}
	nh, err := identity.NameHash(p.str("app_name"), p.list("aspects")...)
	if err != nil {
		return nil, err
	}
	appData, err := p.optHex("app_data")
	if err != nil {
		return nil, err
	}
	opts := identity.AnnounceOptions{NameHash: nh, AppData: appData}
	if p.has("emission_ts") {
		opts.Time = time.Unix(int64(p.int("emission_ts", 0)), 0)
	}
	if p.bool("enable_ratchets") {
		r, err := identity.GenerateRatchet()
		if err != nil {
			return nil, err
		}
		opts.Ratchet = r.PublicKey()
	}
	pkt, err := id.NewAnnounce(opts)
	if err != nil {
		return nil, err
	}
	raw, err := pkt.Marshal()
	if err != nil {
		return nil, err
	}
	a, err := wire.ParseAnnouncePacket(pkt)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"raw":              hx(raw),
		"destination_hash": pkt.DestinationHash.String(),
		"announce_data":    hx(pkt.Data),
		"public_key":       hx(a.PublicKey[:]),
		"name_hash":        a.NameHash.String(),
		"random_hash":      hx(a.RandomHash[:]),
		"ratchet":          hx(a.Ratchet),
		"signature":        hx(a.Signature[:]),
		"app_data":         hx(a.AppData),
		"has_ratchet":      a.HasRatchet(),
	}, nil
}

func cmdAnnounceValidate(p params) (map[string]any, error) {
	raw, err := p.hex("raw")
	if err != nil {
		return nil, err
	}
	pkt, err := wire.Unmarshal(raw)
	if err != nil {
		return map[string]any{"valid": false, "error": "unpack_failed"}, nil
	}
	if pkt.PacketType != wire.Announce {
		return map[string]any{"valid": false, "error": "not_an_announce"}, nil
	}
	_, verr := identity.ValidateAnnounce(pkt)
	res := map[string]any{
		"valid":            verr == nil,
		"destination_hash": pkt.DestinationHash.String(),
		"has_ratchet":      pkt.ContextFlag,
	}
	if pkt.ContextFlag {
		off := wire.PublicKeyLen + wire.NameHashLen + wire.RandomHashLen
		if len(pkt.Data) >= off+wire.RatchetLen {
			res["ratchet"] = hx(pkt.Data[off : off+wire.RatchetLen])
		}
	}
	return res, nil
}

// cmdKeylessOp runs an operation on an identity holding no key (the zero
// Identity). The reference raises KeyError; Reticle returns an error, which
// is reported under the same name.
func cmdKeylessOp(p params) (map[string]any, error) {
	data, err := p.hex("data")
	if err != nil {
		return nil, err
	}
	var id identity.Identity
	var res []byte
	switch op := p.str("op"); op {
	case "decrypt":
		res, err = id.Decrypt(data)
	case "sign":
		res, err = id.Sign(data)
	case "encrypt":
		res, err = id.Encrypt(data, nil)
	default:
		return nil, fmt.Errorf("unknown op %q", op)
	}
	if err != nil {
		return map[string]any{"raised": "KeyError", "message": err.Error()}, nil
	}
	return map[string]any{"raised": nil, "result": hx(res)}, nil
}
