"""The judge: outcome classification, flatness statistics, success intervals and cutoff analysis, computed
with the harness's own oracles at the points a solver returned (never with anything the solver computed)."""
