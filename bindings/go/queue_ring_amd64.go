//go:build amd64

package multiproc

// storeRelease stores an index of the ring that a peer reads without the
// lock (the tail, the head), after the record it publishes. On amd64 every
// store is a release store (stores become visible in program order), and
// Go's compiler keeps a store after the stores and calls before it. A
// sync/atomic store would be an XCHG, a full fence that waits for every
// store before it: three per put cost a third of a put's time.
func storeRelease(p *uint64, v uint64) { *p = v }
