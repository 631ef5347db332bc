-- Non-reasoning SFT filter: finished, non-empty answers; a CoT only where the prompt asked for one.
with rollouts as (
    select problem_id, sample_idx, domain, language, finish_reason, completion,
           coalesce(try_cast(json_extract(metadata, '$.needs_cot') as boolean), false) as needs_cot
    from {{ ref('rollouts') }}
),

flagged as (
    select *,
        case
            when finish_reason = 'length' then 'overlong'
            when finish_reason = 'error' then 'generation_error'
            when length(trim(regexp_replace(completion, '<think>.*</think>', '', 's'))) = 0 then 'empty_answer'
            when not needs_cot and completion like '%<think>%' then 'unwanted_cot'
            when needs_cot and completion not like '%</think>%' then 'missing_cot'
        end as reason,
        row_number() over (partition by problem_id, md5(completion) order by sample_idx) as dup_rank
    from rollouts
),

final as (
    select problem_id, sample_idx, domain, language,
        case when reason is null and dup_rank > 1 then 'duplicate_completion' else reason end as reason
    from flagged
)

select * from final
