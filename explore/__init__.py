"""vo2neuro.explore: studies that combine the layers below it (device -> circuits -> snn -> ml_zoo).

Nothing below this layer imports it. Modules::

    sweep, sweep_plots      parameter sweeps on Dask into labelled xarray/Zarr stores, heatmaps, Pareto fronts
    calibrate               fits of device / circuit parameters to measured R-T, I-V and frequency data
    codesign                vacancy level against device figures, network accuracy, energy and latency
    compare                 vo2 against vo2x: same training, hardware-level inference, one table
    conversion_study        ANN-to-SNN conversion of the zoo's convertible networks against T
    demo                    the whole chain on the embedded defaults (``vo2neuro demo``)
    report                  one self-contained report.html of a demo results folder (``vo2neuro report``)

Each module imports its heavy dependencies (xarray, dask, torch) itself, so ``import vo2neuro.explore`` is cheap.
"""
