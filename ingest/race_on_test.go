//go:build race

package ingest_test

// raceOn: the race detector multiplies memory and CPU; limits measured
// under it are logged, not enforced.
const raceOn = true
