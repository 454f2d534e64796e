"""PixelRNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks") on the bundled MNIST digits:
Row LSTM (default) or Diagonal BiLSTM, each a `lax.scan` over rows or skewed columns.

    jaxgen train --config pixelrnn_mnist --workdir runs/row_lstm_mnist
    jaxgen train --config pixelrnn_mnist:diagonal --workdir runs/diagonal_bilstm_mnist
    jaxgen train --config pixelrnn_mnist:tiny --workdir /tmp/pixelrnn_tiny    # seconds; tests

One LSTM layer of 16 units after the 7×7 type-A conv (the paper: 7 layers of 16 on MNIST; one layer is
what a 2-core CPU trains in minutes: ≈0.4 s a step for the Row LSTM, ≈1 s for the Diagonal BiLSTM),
Adam 1e-3, batch 64, 600 steps (Row LSTM) or 400 (Diagonal BiLSTM). Variants combine with commas
(`diagonal,8bit`).
"""

from jaxgen.defaults import likelihood


def get_config(arg=None):
    tokens = [] if arg is None else arg.split(",")
    cell = "diagonal_bilstm" if "diagonal" in tokens else "row_lstm"
    rest = ",".join(t for t in tokens if t != "diagonal") or None
    return likelihood.autoregressive_config("pixelrnn", rest, num_steps=400 if cell == "diagonal_bilstm" else 600,
                                            cell=cell, features=16, layers=1,
                                            head_features=32)
