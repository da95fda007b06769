//go:build !amd64

package multiproc

import "sync/atomic"

// storeRelease stores an index of the ring that a peer reads without the
// lock (the tail, the head), after the record it publishes: elsewhere than
// on amd64 (see queue_ring_amd64.go) a plain store may become visible
// before the record; sync/atomic's store is a release store (and more).
func storeRelease(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
