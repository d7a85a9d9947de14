package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// TotalsReader reads platform totals: service.Service does.
type TotalsReader interface {
	Totals(ctx context.Context) (service.Totals, error)
}

// scrapeTimeout bounds the store read behind one scrape.
const scrapeTimeout = 5 * time.Second

var (
	unitsDesc = prometheus.NewDesc("nightshift_units",
		"Work units by state, read from the store at scrape time.", []string{"state"}, nil)
	ledgerDesc = prometheus.NewDesc("nightshift_ledger_balance_usd",
		"Sum of the ledger's balances by account kind, in USD, read from the store at scrape time.", []string{"kind"}, nil)
)

// totalsCollector reads the totals from the store at each scrape, so that
// every coordinator of a database reports the same numbers.
type totalsCollector struct{ r TotalsReader }

func (c totalsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- unitsDesc
	ch <- ledgerDesc
}

func (c totalsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	t, err := c.r.Totals(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(unitsDesc, err)
		return
	}
	for state, n := range t.UnitsByState {
		ch <- prometheus.MustNewConstMetric(unitsDesc, prometheus.GaugeValue, float64(n), string(state))
	}
	for kind, micros := range t.LedgerByKind {
		ch <- prometheus.MustNewConstMetric(ledgerDesc, prometheus.GaugeValue, float64(micros)/1e6, kind)
	}
}

// WatchTotals adds units by state and ledger totals, read through r at
// each scrape.
func (m *Metrics) WatchTotals(r TotalsReader) {
	m.reg.MustRegister(totalsCollector{r})
}
