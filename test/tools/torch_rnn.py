#!/usr/bin/python3
"""test/tools/torch_rnn.py - PyTorch's answers for test/unit/test_recurrent.c.

  /usr/bin/python3 test/tools/torch_rnn.py OUT

For each case (cell and shape) draws deterministic inputs, weights and an
output gradient (all exactly representable in float32), runs torch.nn.RNN,
GRU or LSTM (batch_first) in float64 so that the reference carries no
rounding of its own, and writes to OUT, as text:

  case CELL B T C H
  NAME COUNT v1 v2 ...        for x w_ih w_hh b_ih b_hh dout (inputs),
                              out dx dw_ih dw_hh db_ih db_hh (torch's answers)
  end

The loss is sum(out * dout), so the gradients are those of a backward pass
given dout.  Exit status 2 when torch cannot be imported.
"""
import sys

try:
    import torch
except ImportError:
    sys.exit(2)

CASES = [
    ("rnn", 3, 5, 4, 6), ("gru", 3, 5, 4, 6), ("lstm", 3, 5, 4, 6),
    ("rnn", 4, 7, 3, 20), ("gru", 4, 7, 3, 20), ("lstm", 4, 7, 3, 20),
    ("rnn", 9, 12, 2, 48), ("gru", 9, 12, 2, 48), ("lstm", 9, 12, 2, 48),
    ("gru", 64, 32, 1, 64),
]


def f32(t):
    return t.float().double()


def main():
    gen = torch.Generator().manual_seed(20240601)
    out = open(sys.argv[1], "w")
    for cell, B, T, C, H in CASES:
        mod = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
        net = mod(C, H, batch_first=True).double()
        k = 1.0 / H ** 0.5
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(f32((torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1) * k * 1.5))
        x = f32(torch.randn(B, T, C, generator=gen, dtype=torch.float64)).requires_grad_()
        dout = f32(torch.randn(B, T, H, generator=gen, dtype=torch.float64))
        y, _ = net(x)
        (y * dout).sum().backward()
        out.write("case %s %d %d %d %d\n" % (cell, B, T, C, H))

        def put(name, t):
            v = t.detach().reshape(-1).tolist()
            out.write("%s %d %s\n" % (name, len(v), " ".join("%.17g" % a for a in v)))

        put("x", x)
        put("w_ih", net.weight_ih_l0)
        put("w_hh", net.weight_hh_l0)
        put("b_ih", net.bias_ih_l0)
        put("b_hh", net.bias_hh_l0)
        put("dout", dout)
        put("out", y)
        put("dx", x.grad)
        put("dw_ih", net.weight_ih_l0.grad)
        put("dw_hh", net.weight_hh_l0.grad)
        put("db_ih", net.bias_ih_l0.grad)
        put("db_hh", net.bias_hh_l0.grad)
        out.write("end\n")
    out.close()


if __name__ == "__main__":
    main()
