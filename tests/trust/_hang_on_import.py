"""A plug-in whose import never ends (issue 28: loading counts against --time-limit)."""

import time

while True:
    time.sleep(60)


def solver(oracles, theta0, max_iter, tol):  # never reached
    return theta0
