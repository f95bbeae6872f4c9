"""Nights that are not ordinary: refused for lack of a delivery (missing) or taken back (retracted).

`arrears audit` tells what happened to a night; `arrears retract` withdraws a published date.
"""
