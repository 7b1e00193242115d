// Optimizer updates, in place, one fused pass per parameter tensor (torch.optim semantics; the
// contracts are in tensorcore/kernels/catalog.py). Defines: scalar_t (float or double).
// Unfused, an Adam step is ~10 array expressions, each a full pass over n elements; fused it
// reads param, grad, m, v once and writes param, m, v once: 7 x n x sizeof(scalar_t) bytes,
// bandwidth bound. Grid-stride loops; consecutive threads touch consecutive elements.

// sgd_step: g = grad + weight_decay param; with velocity (momentum != 0):
// velocity = momentum velocity + g, g = nesterov ? g + momentum velocity : velocity;
// param -= lr g
extern "C" __global__ void sgd_step(scalar_t* __restrict__ param, const scalar_t* __restrict__ grad,
                                    scalar_t* __restrict__ velocity, int has_velocity,
                                    long long n, scalar_t lr, scalar_t momentum, int nesterov,
                                    scalar_t weight_decay) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        scalar_t g = grad[i] + weight_decay * param[i];
        if (has_velocity) {
            const scalar_t v = momentum * velocity[i] + g;
            velocity[i] = v;
            g = nesterov ? g + momentum * v : v;
        }
        param[i] -= lr * g;
    }
}

// adam_step (AdamW when decoupled): bias1 = 1 - beta1^step, sqrt_bias2 = sqrt(1 - beta2^step)
// are computed once on the host.
extern "C" __global__ void adam_step(scalar_t* __restrict__ param,
                                     const scalar_t* __restrict__ grad,
                                     scalar_t* __restrict__ exp_avg,
                                     scalar_t* __restrict__ exp_avg_sq, long long n, scalar_t lr,
                                     scalar_t beta1, scalar_t beta2, scalar_t eps,
                                     scalar_t weight_decay, int decoupled, scalar_t bias1,
                                     scalar_t sqrt_bias2) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        scalar_t p = param[i], g = grad[i];
        if (decoupled) p *= 1 - lr * weight_decay;
        else g += weight_decay * p;
        const scalar_t m = beta1 * exp_avg[i] + (1 - beta1) * g;
        const scalar_t v = beta2 * exp_avg_sq[i] + (1 - beta2) * g * g;
        exp_avg[i] = m, exp_avg_sq[i] = v;
        param[i] = p - lr / bias1 * m / (sqrt(v) / sqrt_bias2 + eps);
    }
}
