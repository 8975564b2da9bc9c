// Package auth is Reticle's owner authentication: the argon2id owner password, the one-time setup code that
// claims a fresh instance, browser sessions (random 256-bit secrets stored hashed, idle and absolute
// expiry), session-bound CSRF tokens, scoped API tokens, the login/setup abuse controls (per-IP and per-path
// rate limit, lockout with growing duration, a global brake against broad attacks that recognised trusted
// browsers pass), and the bounded log of every attempt. It knows nothing about HTTP: pkg/web maps its
// errors to status codes and carries its values in cookies and headers.
//
// May import: pkg/store, golang.org/x/crypto, the standard library.
package auth
