"""Image dataset distillation: learn a few synthetic images per class that train a network almost
as well as the whole training set.

* :mod:`vision.dd.dm` — DM, distribution matching (Zhao & Bilen, WACV 2023);
* :mod:`vision.dd.dc` — DC, gradient matching (Zhao et al., ICLR 2021), and DSA with Siamese
  augmentation (Zhao & Bilen, ICML 2021);
* :mod:`vision.dd.mtt` — MTT, trajectory matching (Cazenavette et al., CVPR 2022), and TESLA's
  constant-memory gradient (Cui et al., ICML 2023);
* :mod:`vision.dd.evaluate` — the evaluation protocol; :mod:`vision.dd.run` — run folders;
* :mod:`vision.dd.base` / :mod:`vision.dd.synthetic` — what the methods share.
"""
