"""One evaluation: its context, demand, each rule measured once, typed results, the rule kinds."""
