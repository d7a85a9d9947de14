package web

import (
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
)

// barChart is an earnings history laid out as SVG bars: the template only
// writes out the numbers. CSP allows no inline styles, so sizes are
// attributes; the SVG scales to its box through its viewBox.
type barChart struct {
	Width, Height int
	BaselineY     float64 // where zero is: bars above it earned, below it were clawed back
	Bars          []bar
	MaxLabel      string // the highest day's amount, for the axis
	From, To      string // the first and last day, YYYY-MM-DD
	Earning       []service.DayEarnings
}

type bar struct {
	X, Y, W, H float64
	Day        string // YYYY-MM-DD
	Micros     int64
	Label      string // what the bar's <title> says
	Negative   bool
}

const (
	chartHeight = 160
	chartBarW   = 10 // per day, including the gap
	chartGap    = 2
)

func newBarChart(days []service.DayEarnings) barChart {
	var hi, lo int64
	for _, d := range days {
		hi, lo = max(hi, d.Micros), min(lo, d.Micros)
	}
	c := barChart{Width: len(days) * chartBarW, Height: chartHeight, BaselineY: chartHeight, MaxLabel: formatMoney(hi)}
	span := hi - lo
	if span > 0 {
		c.BaselineY = chartHeight * float64(hi) / float64(span)
	}
	for i, d := range days {
		b := bar{X: float64(i*chartBarW + chartGap/2), W: chartBarW - chartGap, Day: d.Day.Format("2006-01-02"), Micros: d.Micros,
			Label: fmt.Sprintf("%s: %s %s", d.Day.Format("Mon 2 Jan 2006"), formatMoney(d.Micros), payouts.Currency)}
		if d.Micros != 0 {
			b.H = chartHeight * float64(abs(d.Micros)) / float64(span)
		}
		b.Y = c.BaselineY - b.H
		if d.Micros < 0 {
			b.Y, b.Negative = c.BaselineY, true
		}
		c.Bars = append(c.Bars, b)
		if d.Micros != 0 {
			c.Earning = append(c.Earning, d)
		}
	}
	if len(c.Bars) > 0 {
		c.From, c.To = c.Bars[0].Day, c.Bars[len(c.Bars)-1].Day
	}
	return c
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
