// Definitions of the opaque C handles shared by more than one API file.
#pragma once
#include <memory>

#include "model/llama_model.h"
#include "model/sampler.h"
#include "model/session.h"
#include "train/lora.h"
#include "train/trainer.h"

struct sl4j_model {
    std::unique_ptr<sl4j::LlamaModel> impl;
};
struct sl4j_session {
    std::unique_ptr<sl4j::LlamaSession> impl;
};
struct sl4j_lora {
    std::unique_ptr<sl4j::LoraAdapter> impl;
};
struct sl4j_trainer {
    std::unique_ptr<sl4j::Trainer> impl;
    sl4j::LoraAdapter* lora = nullptr;
    int64_t dim = 0;
};
struct sl4j_sampler {
    std::unique_ptr<sl4j::TokenSampler> impl;
};
