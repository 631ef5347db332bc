-- Pass rate per prompt under the policy (Skywork-OR1 / POLARIS / DAPO curation): k scored samples -> one row.
-- Unverifiable samples count as not correct; prompts without any verdict (no gold) get a null pass rate.
with scored as (
    select problem_id, prompt, domain, difficulty, language, model, correct, finish_reason, completion_tokens
    from {{ ref('scored') }}
),

final as (
    select
        problem_id,
        any_value(prompt) as prompt,
        any_value(domain) as domain,
        any_value(difficulty)::integer as difficulty,
        any_value(language) as language,
        any_value(model) as policy_model,
        count(*)::integer as k,
        count_if(correct)::integer as n_correct,
        count(correct)::integer as n_graded,
        case when count(correct) > 0 then count_if(correct) / count(*) end as pass_rate,
        avg(completion_tokens)::double as mean_completion_tokens,
        max(completion_tokens)::integer as max_completion_tokens,
        avg((finish_reason = 'length')::integer)::double as truncated_share
    from scored
    group by problem_id
)

select * from final
