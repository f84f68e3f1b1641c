// Definitions of the opaque C handles shared by more than one API file.
#pragma once
#include <memory>
#include <string>

#include "model/llama_model.h"
#include "model/sampler.h"
#include "model/session.h"
#include "train/full.h"
#include "train/lora.h"
#include "train/trainer.h"

struct sl4j_model {
    std::unique_ptr<sl4j::LlamaModel> impl;
    std::string notice;  // device AUTO: which device it picked
};
struct sl4j_session {
    std::unique_ptr<sl4j::LlamaSession> impl;
};
// Trainable tensors: a LoRA adapter (lora set) or every weight of a model (full set).
struct sl4j_lora {
    std::unique_ptr<sl4j::ParamSet> impl;
    sl4j::LoraAdapter* lora = nullptr;
    sl4j::FullParams* full = nullptr;
};
struct sl4j_trainer {
    std::unique_ptr<sl4j::Trainer> impl;
    int64_t dim = 0;
};
struct sl4j_sampler {
    std::unique_ptr<sl4j::TokenSampler> impl;
};
