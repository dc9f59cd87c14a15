package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// row is one line of the table: a figure, its bare counterpart, and the number held against the
// goal (a ratio, or an absolute bound where the issue sets one).
type row struct {
	figure      string
	measured    string // the node's figure, human-readable
	counterpart string // the bare counterpart's, or "" when the goal is absolute
	result      float64
	unit        string
	goal        float64
	atMost      bool // the goal is an upper bound
}

func (r row) met() bool {
	if r.atMost {
		return r.result <= r.goal
	}
	return r.result >= r.goal
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tnode\tbare counterpart\tresult\tgoal\tmet")
	for _, r := range rows {
		op := ">="
		if r.atMost {
			op = "<="
		}
		met := "yes"
		if !r.met() {
			met = "NO"
		}
		counterpart := r.counterpart
		if counterpart == "" {
			counterpart = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\n", r.figure, r.measured, counterpart,
			formatNumber(r.result, r.unit), op, formatNumber(r.goal, r.unit), met)
	}
	tw.Flush()
}

func formatNumber(v float64, unit string) string {
	switch unit {
	case "ratio":
		return fmt.Sprintf("%.2f", v)
	case "":
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

// rate formats requests per second.
func rate(perSecond float64) string {
	if perSecond >= 1000 {
		return fmt.Sprintf("%.1fk/s", perSecond/1000)
	}
	return fmt.Sprintf("%.0f/s", perSecond)
}
