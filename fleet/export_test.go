package fleet

import "time"

// SetInstantTrendFrom sets from which window the trend is read as
// instant queries, and returns a function that restores it.
func SetInstantTrendFrom(d time.Duration) (restore func()) {
	old := instantTrendFrom
	instantTrendFrom = d
	return func() { instantTrendFrom = old }
}
