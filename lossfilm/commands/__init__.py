"""One module per subcommand: ``add_arguments(parser)`` and ``run(args)``.

Modules import only argparse-level things at the top; numpy, pyvista and the
rest are imported inside ``run`` so that ``lossfilm --help`` stays instant.
"""
