"""What every service shares: settings, AWS clients, errors, JSON, paging and the HTTP resolver."""
