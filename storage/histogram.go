package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Latency is kept as a fixed log-scale histogram, so that histograms of
// buckets, rollups and hosts merge by adding counts, exactly.
//
// Bin 0 holds [0, 1 ms); bin i (1 ≤ i < HistBins-1) holds
// [1 ms·√2^(i-1), 1 ms·√2^i); the last bin holds everything from
// 1 ms·√2^(HistBins-2) (about 12 min) up. A percentile read from it lies in
// the right bin, so it is within a factor of √2 (41%) of the true value;
// interpolation inside the bin usually does much better.
const HistBins = 41

// histBase is the lower bound of bin 1, in milliseconds.
const histBase = 1.0

// Histogram counts latencies by bin.
type Histogram [HistBins]int64

// histBin returns the bin of a latency.
func histBin(d time.Duration) int {
	msec := float64(d) / float64(time.Millisecond)
	if msec < histBase {
		return 0
	}
	i := int(2*math.Log2(msec/histBase)) + 1
	return min(i, HistBins-1)
}

// histLower returns the lower bound of bin i in milliseconds.
func histLower(i int) float64 {
	if i == 0 {
		return 0
	}
	return histBase * math.Pow(2, float64(i-1)/2)
}

// Add counts one latency.
func (h *Histogram) Add(d time.Duration) {
	if d < 0 {
		return
	}
	h[histBin(d)]++
}

// Merge adds o's counts.
func (h *Histogram) Merge(o *Histogram) {
	for i, n := range o {
		h[i] += n
	}
}

// Count is the number of latencies counted.
func (h *Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile returns the latency at quantile q (0 < q ≤ 1) in milliseconds,
// interpolated linearly inside its bin; 0 for an empty histogram. A value
// in the last, open bin is reported as that bin's lower bound.
func (h *Histogram) Quantile(q float64) float64 {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := q * float64(total) // the rank-th smallest, 1-based, may be fractional
	var seen int64
	for i, n := range h {
		if n == 0 {
			continue
		}
		if float64(seen+n) >= rank || i == HistBins-1 {
			lo := histLower(i)
			if i == HistBins-1 {
				return lo
			}
			hi := histLower(i + 1)
			frac := (rank - float64(seen)) / float64(n)
			return lo + (hi-lo)*min(max(frac, 0), 1)
		}
		seen += n
	}
	return histLower(HistBins - 1)
}

// encode writes the histogram sparsely: (bin, uvarint count) per non-empty
// bin, in bin order; an empty histogram is an empty blob. A few bins are
// used per endpoint and bucket, so rows stay a few dozen bytes.
func (h *Histogram) encode(buf []byte) []byte {
	buf = buf[:0]
	for i, n := range h {
		if n > 0 {
			buf = append(buf, byte(i))
			buf = binary.AppendUvarint(buf, uint64(n))
		}
	}
	return buf
}

var errHistogram = errors.New("bad latency histogram")

// decodeAdd adds an encoded histogram's counts to h.
func (h *Histogram) decodeAdd(b []byte) error {
	for len(b) > 0 {
		i := int(b[0])
		n, k := binary.Uvarint(b[1:])
		if i >= HistBins || k <= 0 {
			return errHistogram
		}
		h[i] += int64(n)
		b = b[1+k:]
	}
	return nil
}

// histAdd is the SQL function apierr_hist_add(a, b): the sum of two encoded
// histograms, so that upserts merge in SQL.
func histAdd(a, b []byte) ([]byte, error) {
	var h Histogram
	if err := h.decodeAdd(a); err != nil {
		return nil, err
	}
	if err := h.decodeAdd(b); err != nil {
		return nil, err
	}
	return h.encode(make([]byte, 0, len(a)+len(b))), nil
}
