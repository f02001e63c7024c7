"""``make demo``: a demo site played end to end through the real programs.

``python -m cloud.demo`` builds a site in ``demo/`` (config, camera folders, RFID log,
wheel map), provisions the embedded backends, starts ``wheel-cloud run`` and
``wheel-edge run`` as subprocesses, lets the simulator (``wheel-sim pass``) write ride
passes as Ranger Studio would, waits until every scan is scored and every alert sent,
stops both programs with SIGTERM (graceful shutdown) and prints a summary.

The orchestration runs the programs as subprocesses and never imports ``edge``; the
summary reads the cloud's own stores through ``cloud.bootstrap``, so the same code works
with every backend switched to Google Cloud (the e2e test does that against emulators).
"""
