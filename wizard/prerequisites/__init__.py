"""What the recipe needs before it starts: tools, memdisk, credentials, disk, space.

``run_checks`` returns one ``CheckResult`` a line of the prerequisites table
(the CLI's ``check`` prints it; the TUI shows the same list), each with the
exact fix for this distribution.
"""
