"""The command catalog: what each program is, its argument grammar, and the effects of its arguments."""
