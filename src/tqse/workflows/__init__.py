"""The library functions behind the commands that combine layers (training, evaluation and extraction):

    demo.py     ``tqse demo``: the shipped model on real mixtures, or ``--train`` your own on the built-in data
    grid.py     ``tqse grid``: train several experiment rows, score each, tabulate (the paper's tables)
    bench.py    ``tqse bench`` and ``benchmarks/``: speed of extraction, training and the data path
    package.py  ``tqse package``: a training run's checkpoint -> a shippable model folder with scores and card
    study.py    ``benchmarks/table1*.py``: a multi-seed study's run folders, the comparison rule, exports with cards
"""
