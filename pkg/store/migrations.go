package store

// migrations lists every schema step in order. Append new ones at the end; never edit or reorder an
// existing one, because databases in the field already carry it.
func migrations() []migration {
	return []migration{
		m0001Settings(),
		m0002Interfaces(),
		m0003Auth(),
		m0004Messages(),
		m0005Propagation(),
		m0006AtRestRecord(),
		m0007Conversations(),
		m0008Plugins(),
		m0009Blocks(),
		m0010Contacts(),
		m0011PropagationReceived(),
	}
}
