"""The bench kiosk: a full-screen Textual terminal that artisans drive with a scanner alone.

    make_app(site_dir, bench)      the app (the CLI and the tests use this one factory)
    run_kiosk(site_dir, bench)     run it full screen; returns the exit code

Screens call the Shop's verbs only; device I/O lives in floorkiosk.devices and runs in threads.
"""
