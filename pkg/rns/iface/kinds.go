package iface

import "fmt"

// newOther builds the non-TCP kinds for New.
func newOther(spec Spec, opts Options) (Interface, error) {
	switch spec.Kind {
	case KindUDP:
		return NewUDP(spec.Name, spec.Address(), spec.Forward, opts)
	case KindShared:
		return NewShared(spec, opts)
	case KindAuto:
		return NewAuto(spec, opts)
	default:
		return nil, fmt.Errorf("%w: unsupported kind %q", ErrBadURI, spec.Kind)
	}
}
