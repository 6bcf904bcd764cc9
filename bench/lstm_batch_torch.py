"""Helper of bench/lstm_batch.sh (a benchmark, not a test).

    python bench/lstm_batch_torch.py EPOCHS T B H [H ...]

Times PyTorch training lstm_train's default network (bench/lstm_speed.py's
Net: causal Conv1d(3, 4, 3) -> LSTM(4, H) -> Dropout(0.5) -> Linear(H, 1),
Adam lr 0.01, MSE, full batch) in float32 on one CPU thread, for each H:

  one     one series of T steps, EPOCHS epochs: seconds per epoch
  batch   B series of T steps as one batch (batch_first, B x T x 3) of ONE
          shared network, EPOCHS epochs: seconds per epoch of the B, and
          per series-epoch (the reference the issue asks to print beside
          the batched core; not the same models: one network for all B)

Inputs are smooth synthetic series, a phase each (the time does not
depend on the values).  Two untimed warm-up epochs first (oneDNN builds its
primitives on the first calls); the times are the thread's CPU time
(time.thread_time: with one intra-op thread PyTorch computes on the
calling thread), the same clock bench/nn_batch.c uses by default.  One
JSON line per (H, mode).
"""
import json
import sys
import time

K, C, N_IN, DROPOUT, LR, WARMUP = 3, 4, 3, 0.5, 0.01, 2


def main(epochs, T, B, hiddens):
    import numpy as np
    import torch

    class Net(torch.nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.conv = torch.nn.Conv1d(N_IN, C, K, padding=K - 1)
            self.lstm = torch.nn.LSTM(C, hidden, 1, batch_first=True)
            self.drop = torch.nn.Dropout(DROPOUT)
            self.out = torch.nn.Linear(hidden, 1)

        def forward(self, x):                  # x (B, T, 3) -> (B, T)
            n = x.shape[1]
            z = self.conv(x.transpose(1, 2))[..., :n].transpose(1, 2)
            h, _ = self.lstm(z)
            return self.out(self.drop(h))[..., 0]

    torch.set_num_threads(1)
    t = np.arange(T)
    xs = np.stack([np.stack([0.5 + 0.4 * np.sin(t * 0.1 + 0.3 * b),
                             0.5 + 0.5 * np.sin(t * 0.12),
                             0.5 + 0.5 * np.cos(t * 0.12)], axis=1) for b in range(B)])
    ys = np.stack([0.1 * np.sin(t * 0.1 + 0.1 + 0.3 * b) for b in range(B)])
    for hidden in hiddens:
        for mode, n in (("one", 1), ("batch", B)):
            torch.manual_seed(42)
            net = Net(hidden)
            net.train()
            opt = torch.optim.Adam(net.parameters(), lr=LR)
            xt = torch.tensor(xs[:n], dtype=torch.float32)
            yt = torch.tensor(ys[:n], dtype=torch.float32)
            for e in range(WARMUP + epochs):
                if e == WARMUP:
                    t0 = time.thread_time()
                opt.zero_grad()
                loss = torch.mean((net(xt) - yt) ** 2)
                loss.backward()
                opt.step()
            s = (time.thread_time() - t0) / epochs
            print(json.dumps({"impl": "torch", "version": torch.__version__, "mode": mode,
                              "dtype": "float32", "H": hidden, "T": T, "B": n, "epochs": epochs,
                              "s_per_epoch": s, "s_per_series_epoch": s / n,
                              "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), [int(h) for h in sys.argv[4:]])
