//go:build wasip1

// Package sdk is the guest side of Reticle's plugin ABI version 1 for Go plugins built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. Each function wraps one import of the
// "reticle" host module; a plugin links only those it calls, and the host refuses to load it unless
// every one belongs to a granted capability (see pkg/plugins).
package sdk

import (
	"encoding/json"
	"unsafe"
)

// Status values of the host functions (see pkg/plugins).
const (
	StatusOK          = 0
	StatusFault       = -1
	StatusTooLarge    = -2
	StatusRateLimited = -3
	StatusQuota       = -4
	StatusNotFound    = -5
	StatusInvalid     = -6
	StatusHostError   = -7
)

//go:wasmimport reticle input_len
func inputLen() int32

//go:wasmimport reticle input_read
func inputRead(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport reticle output_write
func outputWrite(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport reticle log
func hostLog(level int32, ptr unsafe.Pointer, n uint32) int32

//go:wasmimport reticle send_message
func sendMessage(dest unsafe.Pointer, destLen uint32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport reticle kv_get
func kvGet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valCap uint32) int32

//go:wasmimport reticle kv_set
func kvSet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32) int32

func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// Input returns the call's input (JSON).
func Input() []byte {
	n := inputLen()
	if n <= 0 {
		return nil
	}
	b := make([]byte, n)
	if inputRead(ptr(b), uint32(n)) != n {
		return nil
	}
	return b
}

// Message is what on_message gets.
type Message struct {
	ID          string `json:"id"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Title       string `json:"title"`
	Content     string `json:"content"`
	Timestamp   int64  `json:"timestamp"`
}

// PageRequest is what serve_page gets.
type PageRequest struct {
	Path     string            `json:"path"`
	Form     map[string]string `json:"form"`
	RemoteID string            `json:"remote_identity"`
}

// ReadMessage decodes the input of on_message.
func ReadMessage() (Message, bool) {
	var m Message
	return m, json.Unmarshal(Input(), &m) == nil
}

// ReadPageRequest decodes the input of serve_page.
func ReadPageRequest() (PageRequest, bool) {
	var r PageRequest
	return r, json.Unmarshal(Input(), &r) == nil
}

// Output appends b to the call's result.
func Output(b []byte) int32 { return outputWrite(ptr(b), uint32(len(b))) }

// Log levels.
const (
	Debug = 0
	Info  = 1
	Warn  = 2
	Error = 3
)

// Log writes one line to the plugin's log (capability log).
func Log(level int32, msg string) int32 {
	b := []byte(msg)
	return hostLog(level, ptr(b), uint32(len(b)))
}

// Send sends content to a 32-hex-digit LXMF address (capability messages.send).
func Send(dest, content string) int32 {
	d, c := []byte(dest), []byte(content)
	return sendMessage(ptr(d), uint32(len(d)), ptr(c), uint32(len(c)))
}

// KVGet reads a value of at most 16 KiB (capability kv).
func KVGet(key string) ([]byte, int32) {
	k := []byte(key)
	buf := make([]byte, 16<<10)
	n := kvGet(ptr(k), uint32(len(k)), ptr(buf), uint32(len(buf)))
	if n < 0 {
		return nil, n
	}
	return buf[:n], StatusOK
}

// KVSet stores a value (capability kv).
func KVSet(key string, val []byte) int32 {
	k := []byte(key)
	return kvSet(ptr(k), uint32(len(k)), ptr(val), uint32(len(val)))
}
