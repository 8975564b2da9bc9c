package shared

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/reticle-mesh/reticle/pkg/rns/iface"
)

// ClientConfig returns a reference config file (for a Python program's
// --config directory) that attaches the program to the shared instance spec
// describes and authenticates its RPC calls with key. The result contains
// the RPC key: store it 0600.
func ClientConfig(spec iface.Spec, key []byte) string {
	var b strings.Builder
	b.WriteString("# Attach Python Reticulum programs to Reticle's shared instance.\n")
	b.WriteString("[reticulum]\n  share_instance = Yes\n  enable_transport = No\n")
	fmt.Fprintf(&b, "  shared_instance_type = %s\n", spec.SharedType)
	if spec.SharedType == iface.SharedTCP {
		fmt.Fprintf(&b, "  shared_instance_port = %d\n  instance_control_port = %d\n", spec.Port, spec.ControlPort)
	} else {
		fmt.Fprintf(&b, "  instance_name = %s\n", spec.Host)
	}
	fmt.Fprintf(&b, "  rpc_key = %s\n", hex.EncodeToString(key))
	b.WriteString("\n[logging]\n  loglevel = 4\n\n[interfaces]\n")
	return b.String()
}

// Key returns the RPC key for spec: its rpc_key if set, else def.
func Key(spec iface.Spec, def []byte) ([]byte, error) {
	if spec.RPCKey == "" {
		return def, nil
	}
	k, err := hex.DecodeString(spec.RPCKey)
	if err != nil {
		return nil, fmt.Errorf("rpc key: %w", err)
	}
	return k, nil
}
